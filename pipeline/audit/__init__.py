"""Auditing the judge: a calibration sample, error estimates with intervals, a risk order."""
