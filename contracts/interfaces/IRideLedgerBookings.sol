// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IRideLedgerBookings
/// @notice The money side of a booking: the rider's fare authorisation and its hold, releases, disputes and the
/// mediators' decisions.
interface IRideLedgerBookings {
    /// @notice The lifecycle of a hold. A released hold reads `None` (and can never be authorised again); a settled
    /// receipt clears the hold back to `None` and marks the trip id settled.
    enum HoldState {
        None,
        Active,
        Disputed,
        ResolvedPaid,
        ResolvedUnpaid
    }

    /// @notice What a rider signs when accepting a match (EIP-712 `FareAuthorisation`, coordinates in micro-degrees).
    struct FareAuthorisation {
        uint64 tripId;
        address rider;
        address driver;
        uint32 regionId;
        int32 pickupLatE6;
        int32 pickupLonE6;
        int32 dropoffLatE6;
        int32 dropoffLonE6;
        uint96 maxFare;
        uint40 cancelBy;
        uint40 expiry;
    }

    /// @notice The money a booking reserves: `maxFare` of the rider's escrow, until `expiry` at the latest.
    struct Hold {
        uint96 maxFare;
        uint40 cancelBy;
        uint40 expiry;
        HoldState state;
    }

    event FareAuthorised(
        uint64 indexed tripId,
        address indexed rider,
        address indexed driver,
        uint256 maxFare,
        uint256 cancelBy,
        uint256 expiry
    );
    /// @notice `amount` went back to the rider's free escrow; `by` is who released the hold.
    event HoldReleased(uint64 indexed tripId, address indexed by, uint256 amount);
    event TripDisputed(uint64 indexed tripId, address indexed by, string reason);
    /// @notice A mediator decided: `award` paid (of which `fee` to the treasury), `refund` back to the rider.
    event DisputeResolved(
        uint64 indexed tripId, address indexed mediator, uint256 award, uint256 fee, uint256 refund, string reason
    );

    /// @notice The authorisation's expiry has passed.
    error AuthorisationExpired(uint256 expiry);
    /// @notice Rider and driver are the same account, or `cancelBy` is after `expiry`.
    error InvalidAuthorisation(uint64 tripId);
    /// @notice The trip id has already settled.
    error TripAlreadySettled(uint64 tripId);
    /// @notice A hold (or a released one) already exists for this trip, driver and rider.
    error HoldExists(uint64 tripId);
    /// @notice The hold is not `Active` (releases) or not in the state the call needs.
    error HoldNotActive(uint64 tripId);
    /// @notice `account` may not release this hold now (rider after `cancelBy`, or a stranger before
    /// `expiry + maxReceiptAge`).
    error ReleaseNotAllowed(address account);
    /// @notice The hold is not `Active` (dispute) or not `Disputed` (resolution).
    error NotDisputable(uint64 tripId);
    /// @notice `account` is neither the trip's rider nor its driver.
    error NotParty(address account);
    /// @notice A mediator cannot decide a trip they are party to.
    error MediatorIsParty(address mediator);
    /// @notice `account` does not hold MEDIATOR_ROLE or is not a member.
    error NotMediator(address account);
    /// @notice The award is above the authorised maximum.
    error AwardExceedsHold(uint256 award, uint256 maxFare);

    /// @notice Anyone relays the rider's signed authorisation: `maxFare` moves from the rider's free escrow into a
    /// hold for (tripId, driver, rider) that no withdrawal can touch.
    /// @dev Requires rider and driver members, rider != driver, the region registered, now < expiry,
    /// cancelBy <= expiry, the trip id not settled and no hold (or released hold) yet for the triple.
    /// @param auth The authorisation.
    /// @param riderSignature The rider's signature (65 bytes, or an ERC-1271 contract signature).
    function authoriseFare(FareAuthorisation calldata auth, bytes calldata riderSignature) external;

    /// @notice Returns an `Active` hold's `maxFare` to the rider's free escrow; no receipt can use it afterwards.
    /// @dev The caller may be the rider before `cancelBy`, the driver at any time (waiving the fare), or anyone after
    /// `expiry + maxReceiptAge` (when any receipt for it would be `Expired`).
    function releaseHold(uint64 tripId, address driver, address rider) external;

    /// @notice `releaseHold` on behalf of `signer`, who signed EIP-712
    /// `HoldRelease(uint64 tripId,address driver,address rider,address signer,uint256 nonce,uint256 deadline)`.
    function releaseHoldBySig(
        uint64 tripId,
        address driver,
        address rider,
        address signer,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice The rider or the driver (the caller) disputes an `Active` hold; the trip waits for a mediator.
    function dispute(uint64 tripId, address driver, address rider, string calldata reason) external;

    /// @notice `dispute` on behalf of `by`, who signed EIP-712
    /// `Dispute(uint64 tripId,address driver,address rider,string reason,address by,uint256 nonce,uint256 deadline)`.
    function disputeBySig(
        uint64 tripId,
        address driver,
        address rider,
        string calldata reason,
        address by,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice A mediator (MEDIATOR_ROLE, a member, not a party) decides a `Disputed` hold: `award` (0..maxFare) is
    /// paid at once (fee to the treasury, the rest to the driver's earnings) and `maxFare - award` returns to the
    /// rider's free escrow. The receipt, settled later, moves no money and earns shares only if `award > 0`.
    function resolveDispute(uint64 tripId, address driver, address rider, uint96 award, string calldata reason)
        external;

    /// @notice `resolveDispute` on behalf of `mediator`, who signed EIP-712
    /// `Resolution(uint64 tripId,address driver,address rider,uint96 award,string reason,address mediator,uint256 nonce,uint256 deadline)`.
    function resolveDisputeBySig(
        uint64 tripId,
        address driver,
        address rider,
        uint96 award,
        string calldata reason,
        address mediator,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice The hold for (tripId, driver, rider); all zero when there is none or it was released.
    function holdOf(uint64 tripId, address driver, address rider) external view returns (Hold memory);

    /// @notice Whether the hold for (tripId, driver, rider) was released (it can never be authorised again).
    function isHoldReleased(uint64 tripId, address driver, address rider) external view returns (bool);
}
