// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IRideLedgerSettler
/// @notice Batched settlement of co-signed trip receipts.
interface IRideLedgerSettler {
    /// @notice One trip, as driver and rider sign it (EIP-712 `TripReceipt`).
    struct TripReceipt {
        uint64 tripId;
        address driver;
        address rider;
        uint32 regionId;
        uint32 distanceMetres;
        uint96 fare;
        uint40 startTime;
        uint40 endTime;
        bytes32 traceHash;
    }

    /// @notice A receipt with both EIP-2098 compact signatures; the rider's is all-zero for solo movement.
    struct SignedReceipt {
        TripReceipt receipt;
        bytes32 driverR;
        bytes32 driverVS;
        bytes32 riderR;
        bytes32 riderVS;
    }

    /// @notice Why a receipt was rejected. `AlreadySettled`, signature and `InvalidTrip` rejections are final.
    enum RejectReason {
        None,
        AlreadySettled,
        BadDriverSignature,
        BadRiderSignature,
        NotMember,
        UnknownRegion,
        RegionNotOperating,
        FareExceedsSigned,
        RiderUnderfunded,
        InvalidTrip
    }

    /// @notice A trip settled: the rider paid `fare`, of which `fee` went to the treasury; the driver earned `shares`.
    event TripSettled(uint256 indexed tripId, uint256 fare, uint256 fee, uint256 shares);
    /// @notice A receipt was rejected; the trip id is not marked settled.
    event TripRejected(uint256 indexed tripId, RejectReason reason);
    /// @notice A batch was processed.
    event BatchSettled(bytes32 indexed batchId, uint256 settled, uint256 rejected);

    /// @notice Settles a batch of receipts; a bad receipt is rejected with an event and never reverts the batch.
    /// @dev Only SETTLER_ROLE; reverts `EnforcedPause()` while paused. Batches ordered by driver are cheaper.
    /// @param batchId The backend's identifier of the batch (echoed in `BatchSettled`).
    /// @param receipts The signed receipts.
    /// @return settled How many receipts settled.
    function settle(bytes32 batchId, SignedReceipt[] calldata receipts) external returns (uint256 settled);

    /// @notice Whether `tripId` has settled.
    function isSettled(uint256 tripId) external view returns (bool);

    /// @notice The EIP-712 domain separator receipts are signed under.
    function DOMAIN_SEPARATOR() external view returns (bytes32);
}
