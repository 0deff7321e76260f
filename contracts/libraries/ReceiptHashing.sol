// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ReceiptHashing
/// @notice EIP-712 hashes of a `TripReceipt`, read straight from calldata.
library ReceiptHashing {
    bytes32 internal constant TRIP_RECEIPT_TYPEHASH = keccak256(
        "TripReceipt(uint64 tripId,address driver,address rider,uint32 regionId,uint32 distanceMetres,uint96 fare,uint40 startTime,uint40 endTime,bytes32 traceHash)"
    );
    uint256 internal constant RECEIPT_BYTES = 0x120;

    /// @notice The EIP-712 digest (`\x19\x01 || domainSeparator || structHash`) of the receipt whose nine fields
    /// start at calldata offset `at`.
    /// @dev The nine static fields are already ABI-encoded as nine words in calldata, which is exactly `abi.encode`
    /// of the fields: the struct hash copies them once behind the type hash, in memory past the free pointer
    /// (left unallocated, so nothing accumulates across receipts).
    function digest(bytes32 domainSeparator, uint256 at) internal pure returns (bytes32 result) {
        bytes32 typeHash = TRIP_RECEIPT_TYPEHASH;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typeHash)
            calldatacopy(add(ptr, 0x20), at, RECEIPT_BYTES)
            let structHash := keccak256(ptr, add(RECEIPT_BYTES, 0x20))
            mstore(ptr, hex"1901")
            mstore(add(ptr, 0x02), domainSeparator)
            mstore(add(ptr, 0x22), structHash)
            result := keccak256(ptr, 0x42)
        }
    }
}
