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

/// @title CoopGovernor
/// @notice One member, one vote: proposals are voted with Membership votes (timestamp clock) and executed by the
/// Timelock. Members propose and vote without gas through `proposeBySig` and `castVoteBySig`, relayed by the backend.
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

    /// @notice `account` had no vote at the proposal's snapshot (not a member then).
    error NoVotingPower(address account);
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
    constructor(
        IVotes membership,
        TimelockController timelock,
        uint48 votingDelay_,
        uint32 votingPeriod_,
        uint256 proposalThreshold_,
        uint256 quorumPercent
    )
        Governor("CoopGovernor")
        GovernorSettings(votingDelay_, votingPeriod_, proposalThreshold_)
        GovernorVotes(membership)
        GovernorVotesQuorumFraction(quorumPercent)
        GovernorTimelockControl(timelock)
    {}

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
