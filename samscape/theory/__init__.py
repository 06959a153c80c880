"""Stability, confinement, hallucination and sharpness: the SAM papers' claims, symbolic and numeric."""
