"""The law: identifiers, values, events, each patent's state and the rules (INV-n). Plain
Python: no database, no threads, no web.
"""
