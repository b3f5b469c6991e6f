"""The Streamlit pages of RSAD Review Desk (routed by app.py with st.navigation)."""
