"""Dr.DeepChest core logic. Nothing in this package imports Streamlit."""
