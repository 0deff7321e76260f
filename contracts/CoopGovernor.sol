// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Governor} from "@openzeppelin/contracts/governance/Governor.sol";
import {GovernorSettings} from "@openzeppelin/contracts/governance/extensions/GovernorSettings.sol";
import {GovernorCountingSimple} from "@openzeppelin/contracts/governance/extensions/GovernorCountingSimple.sol";
import {GovernorVotes} from "@openzeppelin/contracts/governance/extensions/GovernorVotes.sol";
import {GovernorVotesQuorumFraction} from
    "@openzeppelin/contracts/governance/extensions/GovernorVotesQuorumFraction.sol";
import {GovernorTimelockControl} from "@openzeppelin/contracts/governance/extensions/GovernorTimelockControl.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IMembership} from "./interfaces/IMembership.sol";

/// @title CoopGovernor
/// @notice One member, one vote: proposals are voted with Membership votes (timestamp clock) and executed by the
/// Timelock. Members propose and vote without gas through `proposeBySig` and `castVoteBySig`, relayed by the backend.
/// A membership votes only once it is mature: on proposals whose snapshot is at least `votingMaturity` after the
/// member's admission. `votingMaturity >= votingDelay` always holds, so a member admitted after a proposal was made
/// never votes on it. Quorum is a fraction of the members with an absolute floor (`quorumFloor`).
contract CoopGovernor is
    Governor,
    GovernorSettings,
    GovernorCountingSimple,
    GovernorVotes,
    GovernorVotesQuorumFraction,
    GovernorTimelockControl
{
    /// @notice EIP-712 type of a member's signed request to create a proposal.
    bytes32 public constant PROPOSAL_TYPEHASH =
        keccak256("Proposal(address proposer,bytes32 proposalHash,uint256 nonce,uint256 deadline)");

    /// @notice Seconds between a member's admission and the first snapshot at which their membership votes.
    uint48 private _votingMaturity;
    /// @notice The fewest for + abstain votes that make a quorum, whatever the number of members.
    uint256 private _quorumFloor;
    /// @dev The Membership, for admission times (the same contract as `token()`).
    IMembership private immutable _membership;

    event VotingMaturitySet(uint48 oldVotingMaturity, uint48 newVotingMaturity);
    event QuorumFloorSet(uint256 oldQuorumFloor, uint256 newQuorumFloor);

    /// @notice `account` had no vote at the proposal's snapshot (not a member then, or not yet mature).
    error NoVotingPower(address account);
    /// @notice The voting maturity would be below the voting delay: members admitted after a proposal was made
    /// could vote on it.
    error VotingMaturityBelowDelay(uint256 votingMaturity, uint256 votingDelay);
    /// @notice A quorum floor of zero would let a proposal pass without a vote.
    error InvalidQuorumFloor(uint256 quorumFloor);
    /// @notice A signed proposal was relayed after its `deadline` (unix seconds).
    error ProposalSignatureExpired(uint256 deadline);
    /// @notice The signature is not `proposer`'s over this proposal, nonce and deadline.
    error InvalidProposalSignature(address proposer);

    /// @param membership The Membership (ERC721Votes) that counts votes.
    /// @param timelock The Timelock that executes proposals.
    /// @param votingDelay_ Seconds between a proposal and the start of voting.
    /// @param votingPeriod_ Seconds voting stays open.
    /// @param proposalThreshold_ Votes needed to propose (1: any member).
    /// @param quorumPercent Percentage of members whose votes make a quorum.
    /// @param quorumFloor_ The fewest votes that make a quorum (at least 1).
    /// @param votingMaturity_ Seconds after admission before a membership votes (at least `votingDelay_`).
    constructor(
        IVotes membership,
        TimelockController timelock,
        uint48 votingDelay_,
        uint32 votingPeriod_,
        uint256 proposalThreshold_,
        uint256 quorumPercent,
        uint256 quorumFloor_,
        uint48 votingMaturity_
    )
        Governor("CoopGovernor")
        GovernorSettings(votingDelay_, votingPeriod_, proposalThreshold_)
        GovernorVotes(membership)
        GovernorVotesQuorumFraction(quorumPercent)
        GovernorTimelockControl(timelock)
    {
        _membership = IMembership(address(membership));
        if (votingMaturity_ < votingDelay_) revert VotingMaturityBelowDelay(votingMaturity_, votingDelay_);
        _setVotingMaturity(votingMaturity_);
        _setQuorumFloor(quorumFloor_);
    }

    /// @notice Seconds between a member's admission and the first proposal snapshot at which their membership votes.
    function votingMaturity() external view returns (uint48) {
        return _votingMaturity;
    }

    /// @notice The fewest for + abstain votes that make a quorum, whatever the number of members.
    function quorumFloor() external view returns (uint256) {
        return _quorumFloor;
    }

    /// @notice Sets the voting maturity (governance only); it cannot go below the voting delay.
    /// @param newVotingMaturity Seconds after admission.
    function setVotingMaturity(uint48 newVotingMaturity) external onlyGovernance {
        uint256 delay = votingDelay();
        if (newVotingMaturity < delay) revert VotingMaturityBelowDelay(newVotingMaturity, delay);
        _setVotingMaturity(newVotingMaturity);
    }

    /// @notice Sets the quorum floor (governance only).
    /// @param newQuorumFloor The fewest votes that make a quorum (at least 1).
    function setQuorumFloor(uint256 newQuorumFloor) external onlyGovernance {
        _setQuorumFloor(newQuorumFloor);
    }

    /// @notice Sets the voting delay (governance only); it cannot go above the voting maturity.
    /// @param newVotingDelay Seconds between a proposal and its snapshot.
    function setVotingDelay(uint48 newVotingDelay) public override onlyGovernance {
        if (newVotingDelay > _votingMaturity) revert VotingMaturityBelowDelay(_votingMaturity, newVotingDelay);
        _setVotingDelay(newVotingDelay);
    }

    /// @notice The quorum at `timepoint`: `quorumPercent` of the members then, and never below `quorumFloor()`.
    /// @param timepoint A proposal snapshot (unix seconds).
    function quorum(uint256 timepoint)
        public
        view
        override(Governor, GovernorVotesQuorumFraction)
        returns (uint256)
    {
        uint256 fraction = super.quorum(timepoint);
        uint256 floor = _quorumFloor;
        return fraction > floor ? fraction : floor;
    }

    /// @notice Anyone relays `proposer`'s signed EIP-712 `Proposal`, so proposing costs the member no gas. The
    /// proposal is recorded with `proposer` as its proposer, under the same rules as `propose`: the proposer needs
    /// `proposalThreshold()` votes at `clock() - 1`, and a description ending in `#proposer=0x...` must name them.
    /// @dev The signature covers `hashProposal(targets, values, calldatas, keccak256(bytes(description)))`, so the
    /// relayer can change no action nor the description. It consumes the proposer's nonce (shared with ballots).
    /// @param targets Contracts called by the proposal.
    /// @param values Native currency sent with each call.
    /// @param calldatas Encoded calls.
    /// @param description The proposal's description (its hash is part of the proposal id).
    /// @param proposer The member who signed.
    /// @param deadline Last timestamp at which the signature is valid.
    /// @param signature The proposer's signature (65 bytes, or an ERC-1271 contract signature).
    /// @return proposalId The id of the created proposal.
    function proposeBySig(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        string memory description,
        address proposer,
        uint256 deadline,
        bytes memory signature
    ) public returns (uint256 proposalId) {
        if (block.timestamp > deadline) revert ProposalSignatureExpired(deadline);
        proposalId = hashProposal(targets, values, calldatas, keccak256(bytes(description)));
        bytes32 digest =
            _hashTypedDataV4(keccak256(abi.encode(PROPOSAL_TYPEHASH, proposer, proposalId, _useNonce(proposer), deadline)));
        if (!SignatureChecker.isValidSignatureNow(proposer, digest, signature)) revert InvalidProposalSignature(proposer);
        _checkProposer(proposer, description);
        return _propose(targets, values, calldatas, description, proposer);
    }

    /// @dev The checks `Governor.propose` makes on its caller, applied to a signed proposal's proposer.
    function _checkProposer(address proposer, string memory description) private view {
        if (!_isValidDescriptionForProposer(proposer, description)) revert GovernorRestrictedProposer(proposer);
        uint256 threshold = proposalThreshold();
        if (threshold > 0) {
            uint256 votes = getVotes(proposer, clock() - 1);
            if (votes < threshold) revert GovernorInsufficientProposerVotes(proposer, votes, threshold);
        }
    }

    /// @dev A membership votes at `timepoint` only if the member is admitted now and was admitted at least
    /// `votingMaturity` before it. Members who left or were removed since lose their vote on open proposals.
    function _getVotes(address account, uint256 timepoint, bytes memory params)
        internal
        view
        override(Governor, GovernorVotes)
        returns (uint256)
    {
        uint256 admitted = _membership.admittedAt(account);
        if (admitted == 0 || admitted + _votingMaturity > timepoint) return 0;
        return super._getVotes(account, timepoint, params);
    }

    function _setVotingMaturity(uint48 newVotingMaturity) private {
        emit VotingMaturitySet(_votingMaturity, newVotingMaturity);
        _votingMaturity = newVotingMaturity;
    }

    function _setQuorumFloor(uint256 newQuorumFloor) private {
        if (newQuorumFloor == 0) revert InvalidQuorumFloor(newQuorumFloor);
        emit QuorumFloorSet(_quorumFloor, newQuorumFloor);
        _quorumFloor = newQuorumFloor;
    }

    /// @inheritdoc Governor
    function state(uint256 proposalId)
        public
        view
        override(Governor, GovernorTimelockControl)
        returns (ProposalState)
    {
        return super.state(proposalId);
    }

    /// @inheritdoc Governor
    function proposalNeedsQueuing(uint256 proposalId)
        public
        view
        override(Governor, GovernorTimelockControl)
        returns (bool)
    {
        return super.proposalNeedsQueuing(proposalId);
    }

    /// @inheritdoc Governor
    function proposalThreshold() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.proposalThreshold();
    }

    /// @dev One member, one vote: a ballot without voting power is refused instead of recorded with weight 0.
    function _countVote(uint256 proposalId, address account, uint8 support, uint256 totalWeight, bytes memory params)
        internal
        override(Governor, GovernorCountingSimple)
        returns (uint256)
    {
        if (totalWeight == 0) revert NoVotingPower(account);
        return super._countVote(proposalId, account, support, totalWeight, params);
    }

    function _queueOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint48) {
        return super._queueOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _executeOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) {
        super._executeOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _cancel(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint256) {
        return super._cancel(targets, values, calldatas, descriptionHash);
    }

    function _executor() internal view override(Governor, GovernorTimelockControl) returns (address) {
        return super._executor();
    }
}
