"""The write engine: the single writer and its group commit, the register it judges against (a
bounded cache of the state tables), and the batch preparer with its child process.
"""
