"""The app's pages: UI only; what they compute lives in `pipeline`."""
