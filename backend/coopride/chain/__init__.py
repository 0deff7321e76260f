"""Talking to the chain (web3.py, no Brownie): the deployment manifest, EIP-712 typed data, errors, value types,
the settler's transactions, and the client's reads and relays."""
