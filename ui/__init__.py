"""Streamlit-side helpers shared by the pages (language, notices, errors). No model logic."""
