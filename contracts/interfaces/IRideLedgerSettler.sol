// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IRideLedgerSettler
/// @notice Batched settlement of driver-signed, attester-attested trip receipts.
interface IRideLedgerSettler {
    /// @notice One trip, as the driver signs it (EIP-712 `TripReceipt`). For a shared trip `tripId` is also the
    /// booking id of the rider's fare authorisation.
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

    /// @notice A receipt with EIP-2098 compact signatures: the driver's (required) and the rider's over the same
    /// digest, an optional confirmation that releases the fare before the dispute window ends (all zero = none).
    struct SignedReceipt {
        TripReceipt receipt;
        bytes32 driverR;
        bytes32 driverVS;
        bytes32 riderR;
        bytes32 riderVS;
    }

    /// @notice Why a receipt was rejected. `Disputed` and `DisputeWindowOpen` mean "retry later"; every other
    /// reason is final for that receipt (the trip id is not marked settled).
    enum RejectReason {
        None,
        AlreadySettled,
        BadDriverSignature,
        BadRiderSignature,
        NotMember,
        UnknownRegion,
        RegionNotOperating,
        FareExceedsAuthorised,
        NotAuthorised,
        InvalidTrip,
        Expired,
        Disputed,
        DisputeWindowOpen,
        SoloInOperatingRegion
    }

    /// @notice A trip settled: `fare` moved from the rider's hold, of which `fee` went to the treasury; the driver
    /// earned `shares`.
    event TripSettled(uint256 indexed tripId, uint256 fare, uint256 fee, uint256 shares);
    /// @notice A receipt was rejected; the trip id is not marked settled.
    event TripRejected(uint256 indexed tripId, RejectReason reason);
    /// @notice A batch was processed.
    event BatchSettled(bytes32 indexed batchId, uint256 settled, uint256 rejected);

    /// @notice The batch's attestation was not signed by a holder of ATTESTER_ROLE (`signer` is who signed it, or
    /// zero for an invalid signature).
    error BadAttestation(address signer);

    /// @notice Settles a batch of receipts attested by the attester; a bad receipt is rejected with an event and
    /// never reverts the batch.
    /// @dev Only SETTLER_ROLE; reverts `EnforcedPause()` while paused and `BadAttestation` unless a holder of
    /// ATTESTER_ROLE signed the EIP-712 `Attestation(bytes32 batchId,bytes32 receiptsHash)`, where `receiptsHash`
    /// is the keccak-256 of the receipts' EIP-712 digests concatenated in calldata order. Batches ordered by
    /// driver, then end time, are cheapest (one write per run of a driver) and keep the daily caps exact.
    /// @param batchId The backend's identifier of the batch (echoed in `BatchSettled`, part of the attestation).
    /// @param receipts The signed receipts.
    /// @param attesterR The attester's EIP-2098 signature, r.
    /// @param attesterVS The attester's EIP-2098 signature, vs.
    /// @return settled How many receipts settled.
    function settle(bytes32 batchId, SignedReceipt[] calldata receipts, bytes32 attesterR, bytes32 attesterVS)
        external
        returns (uint256 settled);

    /// @notice Whether `tripId` has settled.
    function isSettled(uint256 tripId) external view returns (bool);

    /// @notice The EIP-712 domain separator receipts, authorisations and attestations are signed under.
    function DOMAIN_SEPARATOR() external view returns (bytes32);
}
