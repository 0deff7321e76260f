// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IRideLedgerBookings} from "../interfaces/IRideLedgerBookings.sol";
import {IRideLedgerRider} from "../interfaces/IRideLedgerRider.sol";
import {LedgerMessages} from "./LedgerMessages.sol";
import {SettlementMath} from "./SettlementMath.sol";

/// @title EscrowBook
/// @notice The RideLedger's cold paths on riders' money: creating, releasing, disputing and deciding holds, and
/// permit deposits. Deployed once and run by DELEGATECALL in the ledger's storage: they are rare next to settlement,
/// and keeping their code out of the ledger keeps it under the 24,576-byte contract size limit with room to grow.
/// @dev External functions take the ledger's mappings as storage references; events and errors are the ledger's
/// (IRideLedgerBookings), emitted from the ledger's address. Access rules (who may call, signatures, pause) are
/// checked by the ledger before it calls in; this library checks the hold's state and moves the money.
library EscrowBook {
    using SafeCast for uint256;

    /// @notice Free escrow, apart from the driver word. `permitNonce` is the fare token's nonce after the last permit
    /// a deposit used (so a front-run permit deposits once, never twice).
    struct Escrow {
        uint96 balance;
        uint160 permitNonce;
    }

    /// @notice A hold as stored: `released` marks a hold that was released (reads `None`, never authorised again).
    struct HoldRecord {
        uint96 maxFare;
        uint40 cancelBy;
        uint40 expiry;
        IRideLedgerBookings.HoldState state;
        bool released;
    }

    /// @notice The storage key of the hold for (tripId, driver, rider).
    function holdKey(uint64 tripId, address driver, address rider) internal pure returns (bytes32) {
        return keccak256(abi.encode(tripId, driver, rider));
    }

    /// @notice Adds `amount` to `rider`'s free escrow.
    function credit(mapping(address => Escrow) storage escrow, address rider, uint256 amount) internal {
        Escrow storage account = escrow[rider];
        account.balance = (account.balance + amount).toUint96();
    }

    /// @notice Releases an `Active` hold to the rider's free escrow, if `by` may: the rider before `cancelBy`, the
    /// driver at any time, anyone after `expiry + maxReceiptAge`. Leaves a tombstone so the authorisation can never be
    /// relayed again.
    function release(
        mapping(bytes32 => HoldRecord) storage holds,
        mapping(address => Escrow) storage escrow,
        uint64 tripId,
        address driver,
        address rider,
        address by,
        uint256 maxReceiptAge
    ) external {
        bytes32 key = holdKey(tripId, driver, rider);
        HoldRecord storage hold = holds[key];
        if (hold.state != IRideLedgerBookings.HoldState.Active) revert IRideLedgerBookings.HoldNotActive(tripId);
        bool allowed = by == driver || (by == rider && block.timestamp < hold.cancelBy)
            || block.timestamp > uint256(hold.expiry) + maxReceiptAge;
        if (!allowed) revert IRideLedgerBookings.ReleaseNotAllowed(by);
        uint256 amount = hold.maxFare;
        holds[key] = HoldRecord({
            maxFare: 0,
            cancelBy: 0,
            expiry: 0,
            state: IRideLedgerBookings.HoldState.None,
            released: true
        });
        credit(escrow, rider, amount);
        emit IRideLedgerBookings.HoldReleased(tripId, by, amount);
    }

    /// @notice `by` (the rider or the driver) disputes an `Active` hold.
    function dispute(
        mapping(bytes32 => HoldRecord) storage holds,
        uint64 tripId,
        address driver,
        address rider,
        string calldata reason,
        address by
    ) external {
        if (by != driver && by != rider) revert IRideLedgerBookings.NotParty(by);
        HoldRecord storage hold = holds[holdKey(tripId, driver, rider)];
        if (hold.state != IRideLedgerBookings.HoldState.Active) revert IRideLedgerBookings.NotDisputable(tripId);
        hold.state = IRideLedgerBookings.HoldState.Disputed;
        emit IRideLedgerBookings.TripDisputed(tripId, by, reason);
    }

    /// @notice Applies a mediator's decision on a `Disputed` hold: `award` is paid, `maxFare - award` goes back to
    /// the rider's free escrow. Returns the treasury's fee; the ledger credits it and `award - fee` to the driver.
    function resolve(
        mapping(bytes32 => HoldRecord) storage holds,
        mapping(address => Escrow) storage escrow,
        uint64 tripId,
        address driver,
        address rider,
        uint96 award,
        string calldata reason,
        address mediator,
        uint256 feeBps
    ) external returns (uint256 fee) {
        if (mediator == driver || mediator == rider) revert IRideLedgerBookings.MediatorIsParty(mediator);
        HoldRecord storage hold = holds[holdKey(tripId, driver, rider)];
        if (hold.state != IRideLedgerBookings.HoldState.Disputed) revert IRideLedgerBookings.NotDisputable(tripId);
        uint256 maxFare = hold.maxFare;
        if (award > maxFare) revert IRideLedgerBookings.AwardExceedsHold(award, maxFare);
        hold.state =
            award > 0 ? IRideLedgerBookings.HoldState.ResolvedPaid : IRideLedgerBookings.HoldState.ResolvedUnpaid;
        fee = uint256(award) * feeBps / SettlementMath.BPS;
        uint256 refund = maxFare - award;
        if (refund != 0) credit(escrow, rider, refund);
        emit IRideLedgerBookings.DisputeResolved(tripId, mediator, award, fee, refund, reason);
    }

    /// @notice Creates the `Active` hold of `auth` from the rider's free escrow (the ledger has checked the parties,
    /// the region, the trip id and the rider's signature).
    function hold(
        mapping(bytes32 => HoldRecord) storage holds,
        mapping(address => Escrow) storage escrow,
        IRideLedgerBookings.FareAuthorisation calldata auth
    ) external {
        bytes32 key = holdKey(auth.tripId, auth.driver, auth.rider);
        HoldRecord storage record = holds[key];
        if (record.state != IRideLedgerBookings.HoldState.None || record.released) {
            revert IRideLedgerBookings.HoldExists(auth.tripId);
        }
        Escrow storage account = escrow[auth.rider];
        uint256 available = account.balance;
        uint256 maxFare = auth.maxFare;
        if (available < maxFare) revert IRideLedgerRider.InsufficientBalance(auth.rider, available, maxFare);
        account.balance = uint96(available - maxFare);
        holds[key] = HoldRecord({
            maxFare: auth.maxFare,
            cancelBy: auth.cancelBy,
            expiry: auth.expiry,
            state: IRideLedgerBookings.HoldState.Active,
            released: false
        });
        emit IRideLedgerBookings.FareAuthorised(auth.tripId, auth.rider, auth.driver, maxFare, auth.cancelBy, auth.expiry);
    }

    /// @notice Submits `rider`'s ERC-2612 permit for the ledger (`address(this)` under DELEGATECALL). If it fails
    /// because someone submitted it first (a front-run must not block the deposit), it is accepted only if it is the
    /// rider's signature for exactly these values at the nonce just used and no deposit used it yet; otherwise
    /// `InvalidPermit`: nobody can push an allowance the rider left standing into escrow.
    function usePermit(
        mapping(address => Escrow) storage escrow,
        IERC20Permit token,
        address rider,
        uint256 amount,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external {
        Escrow storage account = escrow[rider];
        try token.permit(rider, address(this), amount, deadline, v, r, s) {
            account.permitNonce = token.nonces(rider).toUint160();
        } catch {
            uint256 next = token.nonces(rider);
            if (next == 0 || account.permitNonce == next || !_isPermit(token, rider, amount, next - 1, deadline, v, r, s))
            {
                revert IRideLedgerRider.InvalidPermit(rider);
            }
            account.permitNonce = uint160(next);
        }
    }

    function _isPermit(
        IERC20Permit token,
        address owner,
        uint256 value,
        uint256 nonce,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) private view returns (bool) {
        bytes32 structHash =
            keccak256(abi.encode(LedgerMessages.PERMIT_TYPEHASH, owner, address(this), value, nonce, deadline));
        bytes32 digest = keccak256(abi.encodePacked(hex"1901", token.DOMAIN_SEPARATOR(), structHash));
        (address signer, ECDSA.RecoverError error,) = ECDSA.tryRecover(digest, v, r, s);
        return error == ECDSA.RecoverError.NoError && signer == owner;
    }
}
