"""Talking to the chain: typed data, the deployment manifest, contract calls (web3.py, no Brownie)."""
