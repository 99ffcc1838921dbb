"""Posting: the commands a client sends, their checked fields and fingerprints, and the
decisions that turn one into events or a refusal.
"""
