// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title CoopTimelock
/// @notice OpenZeppelin's TimelockController, which holds every admin power: proposer and canceller = CoopGovernor,
/// executor = anyone, no admin; the guardian holds CANCELLER_ROLE too, to stop a queued proposal in an emergency.
/// One exception keeps the guardian removable: an operation that only takes the guardian's roles away (every call
/// `revokeRole(GUARDIAN_ROLE, ...)`, or `revokeRole(CANCELLER_ROLE, ...)` on this Timelock for an account that is not
/// a proposer, with no value) can be cancelled by proposers (the Governor) only. A rogue guardian can therefore
/// delay governance by one proposal cycle, never veto its own replacement.
/// @dev The manifest keeps the name "TimelockController" for this contract: its ABI is OpenZeppelin's plus the
/// exception's view, event and error.
contract CoopTimelock is TimelockController {
    /// @notice The RideLedger's guardian role (`keccak256("GUARDIAN_ROLE")`).
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");

    mapping(bytes32 id => bool) private _guardianRemovals;

    /// @notice Operation `id` only revokes guardian roles: a guardian cannot cancel it.
    event GuardianRemovalScheduled(bytes32 indexed id);

    /// @notice A canceller that is not a proposer (the guardian) tried to cancel a guardian removal.
    error GuardianCannotCancelRemoval(bytes32 id);

    /// @param minDelay Seconds between scheduling and execution.
    /// @param proposers Accounts that schedule (and cancel) operations: the Governor.
    /// @param executors Accounts that execute ready operations (the zero address: anyone).
    /// @param admin An optional admin for the set-up (the deployer, who renounces it), or zero.
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}

    /// @notice Schedules one call (proposers only); marks it a guardian removal if it only revokes a guardian role.
    /// @param target The called contract.
    /// @param value Native currency sent.
    /// @param data The encoded call.
    /// @param predecessor An operation that must be done first, or zero.
    /// @param salt Tells identical operations apart.
    /// @param delay Seconds before it may execute (at least the minimum delay).
    function schedule(address target, uint256 value, bytes calldata data, bytes32 predecessor, bytes32 salt, uint256 delay)
        public
        override
    {
        super.schedule(target, value, data, predecessor, salt, delay);
        if (_revokesAGuardianRole(target, value, data)) {
            _markGuardianRemoval(hashOperation(target, value, data, predecessor, salt));
        }
    }

    /// @notice Schedules a batch of calls (proposers only: the Governor queues proposals here); marks it a guardian
    /// removal if every call only revokes a guardian role.
    /// @param targets The called contracts.
    /// @param values Native currency sent with each call.
    /// @param payloads The encoded calls.
    /// @param predecessor An operation that must be done first, or zero.
    /// @param salt Tells identical operations apart.
    /// @param delay Seconds before it may execute (at least the minimum delay).
    function scheduleBatch(
        address[] calldata targets,
        uint256[] calldata values,
        bytes[] calldata payloads,
        bytes32 predecessor,
        bytes32 salt,
        uint256 delay
    ) public override {
        super.scheduleBatch(targets, values, payloads, predecessor, salt, delay);
        if (targets.length == 0) return;
        for (uint256 i = 0; i < targets.length; ++i) {
            if (!_revokesAGuardianRole(targets[i], values[i], payloads[i])) return;
        }
        _markGuardianRemoval(hashOperationBatch(targets, values, payloads, predecessor, salt));
    }

    /// @notice Cancels a pending operation (cancellers only); a guardian removal only by a proposer.
    /// @param id The operation's id.
    function cancel(bytes32 id) public override {
        if (_guardianRemovals[id] && !hasRole(PROPOSER_ROLE, msg.sender)) revert GuardianCannotCancelRemoval(id);
        super.cancel(id);
    }

    /// @notice Whether operation `id` only revokes guardian roles (then only a proposer cancels it).
    function isGuardianRemoval(bytes32 id) external view returns (bool) {
        return _guardianRemovals[id];
    }

    function _markGuardianRemoval(bytes32 id) private {
        _guardianRemovals[id] = true;
        emit GuardianRemovalScheduled(id);
    }

    /// @dev `revokeRole(GUARDIAN_ROLE, account)` on any contract (it grants the target nothing: the call carries no
    /// value and the Timelock's authority stays with the Timelock), or `revokeRole(CANCELLER_ROLE, account)` on this
    /// Timelock for an account that cannot propose (not the Governor).
    function _revokesAGuardianRole(address target, uint256 value, bytes calldata data) private view returns (bool) {
        if (value != 0 || data.length != 68 || bytes4(data[:4]) != IAccessControl.revokeRole.selector) return false;
        (bytes32 role, address account) = abi.decode(data[4:], (bytes32, address));
        if (role == GUARDIAN_ROLE) return true;
        return target == address(this) && role == CANCELLER_ROLE && !hasRole(PROPOSER_ROLE, account);
    }
}
