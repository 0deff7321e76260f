// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IRideLedgerSettler} from "../interfaces/IRideLedgerSettler.sol";

/// @title ReceiptHashing
/// @notice EIP-712 struct hash of a `TripReceipt`, read straight from calldata.
library ReceiptHashing {
    bytes32 internal constant TRIP_RECEIPT_TYPEHASH = keccak256(
        "TripReceipt(uint64 tripId,address driver,address rider,uint32 regionId,uint32 distanceMetres,uint96 fare,uint40 startTime,uint40 endTime,bytes32 traceHash)"
    );

    /// @dev The receipt's nine static fields are already ABI-encoded as nine words in calldata, which is
    /// exactly `abi.encode` of the fields, so hashing copies them once instead of re-encoding field by field.
    function hash(IRideLedgerSettler.TripReceipt calldata receipt) internal pure returns (bytes32 structHash) {
        bytes32 typeHash = TRIP_RECEIPT_TYPEHASH;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typeHash)
            calldatacopy(add(ptr, 0x20), receipt, 0x120)
            structHash := keccak256(ptr, 0x140)
        }
    }
}
