// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title LedgerMessages
/// @notice The EIP-712 types the RideLedger verifies (domain `CoopRide`, version `1`). docs/design.md lists them;
/// backend/coopride/chain/eip712.py builds the same messages.
library LedgerMessages {
    bytes32 internal constant TRIP_RECEIPT_TYPEHASH = keccak256(
        "TripReceipt(uint64 tripId,address driver,address rider,uint32 regionId,uint32 distanceMetres,uint96 fare,uint40 startTime,uint40 endTime,bytes32 traceHash)"
    );
    /// @dev A receipt's nine static fields: their ABI encoding in calldata is exactly what the struct hash hashes.
    uint256 internal constant RECEIPT_BYTES = 0x120;

    bytes32 internal constant ATTESTATION_TYPEHASH = keccak256("Attestation(bytes32 batchId,bytes32 receiptsHash)");

    bytes32 internal constant FARE_AUTHORISATION_TYPEHASH = keccak256(
        "FareAuthorisation(uint64 tripId,address rider,address driver,uint32 regionId,int32 pickupLatE6,int32 pickupLonE6,int32 dropoffLatE6,int32 dropoffLonE6,uint96 maxFare,uint40 cancelBy,uint40 expiry)"
    );

    bytes32 internal constant HOLD_RELEASE_TYPEHASH = keccak256(
        "HoldRelease(uint64 tripId,address driver,address rider,address signer,uint256 nonce,uint256 deadline)"
    );

    bytes32 internal constant DISPUTE_TYPEHASH = keccak256(
        "Dispute(uint64 tripId,address driver,address rider,string reason,address by,uint256 nonce,uint256 deadline)"
    );

    bytes32 internal constant RESOLUTION_TYPEHASH = keccak256(
        "Resolution(uint64 tripId,address driver,address rider,uint96 award,string reason,address mediator,uint256 nonce,uint256 deadline)"
    );

    bytes32 internal constant WITHDRAWAL_TYPEHASH =
        keccak256("Withdrawal(address account,bool fromEarnings,uint256 amount,uint256 nonce,uint256 deadline)");

    /// @dev ERC-2612's Permit, to recognise a rider's permit that someone else already submitted.
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");
}
