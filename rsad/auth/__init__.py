"""Who is signed in and what they may do.

- ``users``: ``User``, the user file (``users_file``), ``sign_in``, ``local_user``, ``sso_user``,
  lockouts (``lock_state``, ``unlock``), ``cli_user`` (who the CLI acts as)
- ``policies``: ``Action``, ``allowed``, ``authorize``, ``reason_denied``: the one place that decides
- ``audit``: sign-ins, sign-outs, unlocks and deletions as audit events
- ``websessions``: browser sign-ins that survive a reload (``create``, ``resolve``, ``revoke_user``)
"""
