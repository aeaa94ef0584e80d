"""The wavecurate Streamlit app: `wavecurate app` or `streamlit run app/main.py`."""
