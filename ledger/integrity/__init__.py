"""Integrity: the hash chain, the Merkle tree and signed checkpoints, proofs, evidence bundles
and their offline verifier.
"""
