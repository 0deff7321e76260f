// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC721Votes} from "@openzeppelin/contracts/token/ERC721/extensions/ERC721Votes.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IMembership} from "./interfaces/IMembership.sol";
import {IMembershipObserver} from "./interfaces/IMembershipObserver.sol";

/// @title Membership
/// @notice One soulbound membership NFT per member (ERC-721 + ERC-5192), worth exactly one vote.
/// Joining is an application: the applicant signs an EIP-712 `Application` off chain (nothing happens on chain),
/// and the admissions role (a key or committee governance sets) or governance itself submits it with `admit`.
/// Admission collects the capital share (held by the RideLedger, apart from the treasury); a member who leaves in
/// good standing gets it back, a removed member forfeits it to the treasury.
/// @dev Token id = uint256(uint160(member)). Votes use a timestamp clock. Owner: the Timelock.
contract Membership is ERC721, EIP712, ERC721Votes, Ownable, IMembership {
    using SafeCast for uint256;

    bytes32 public constant APPLICATION_TYPEHASH = keccak256(
        "Application(address applicant,uint32 regionId,uint256 maxCapitalShare,uint256 nonce,uint256 deadline)"
    );
    bytes32 public constant LEAVE_TYPEHASH = keccak256("Leave(address member,uint256 nonce,uint256 deadline)");

    /// @dev One slot per member: the region, the admission time and the capital share paid (fare-token units,
    /// at most 2**96 - 1 as the ledger's balances).
    struct Record {
        uint32 regionId;
        uint48 admittedAt;
        uint96 capitalPaid;
    }

    /// @notice Fare-token units collected from each applicant at admission (governance sets it).
    uint256 public capitalShare;
    /// @notice The admissions role: the one address, besides governance, that may admit applicants.
    address public admissions;
    /// @notice The contract told about admissions, departures and removals (the RideLedger).
    IMembershipObserver public observer;

    mapping(address member => Record) private _records;
    /// @notice Whether governance removed `member` (a removed address can never be admitted again).
    mapping(address member => bool) public isRevoked;

    /// @notice ERC-5192: the token is locked to its owner.
    event Locked(uint256 tokenId);
    /// @notice `member` was admitted to `regionId` by `admittedBy` (the admissions role or governance).
    event MemberAdmitted(address indexed member, uint32 indexed regionId, uint256 capitalShare, address admittedBy);
    /// @notice `member` left in good standing; `capitalReturned` went back to their wallet.
    event MemberLeft(address indexed member, uint32 indexed regionId, uint256 capitalReturned);
    /// @notice Governance removed `member`; `capitalForfeited` went to the treasury.
    event MemberRemoved(address indexed member, uint32 indexed regionId, uint256 capitalForfeited);
    event CapitalShareSet(uint256 capitalShare);
    event AdmissionsSet(address admissions);
    event ObserverSet(address observer);

    error Soulbound(uint256 tokenId);
    error AlreadyMember(address member);
    error MembershipRevoked(address member);
    error NotAMember(address member);
    error ObserverNotSet();
    /// @notice The capital share now asked is above the most the applicant signed for.
    error CapitalShareExceedsSigned(uint256 capitalShare, uint256 maxCapitalShare);
    /// @notice The application was submitted after its `deadline` (unix seconds).
    error ApplicationExpired(uint256 deadline);
    /// @notice The signature is not `applicant`'s over this application (region, most capital share, nonce, deadline).
    error InvalidApplicationSignature(address applicant);
    /// @notice Only the admissions role or governance admits.
    error NotAdmissions(address caller);
    /// @notice A signed leave request was relayed after its `deadline`.
    error LeaveSignatureExpired(uint256 deadline);
    /// @notice The signature is not `member`'s over this leave request.
    error InvalidLeaveSignature(address member);

    constructor(address initialOwner)
        ERC721("CoopRide Membership", "COOP-M")
        EIP712("CoopRide Membership", "1")
        Ownable(initialOwner)
    {}

    // ---------------------------------------------------------------- admission

    /// @notice Admits `applicant` on their signed EIP-712 `Application`: mints the membership (one vote, counted
    /// by the Governor once `votingMaturity` has passed), records the admission time and collects the capital share.
    /// @dev Only the admissions role or the owner (governance). Consumes `nonces(applicant)`. The ledger pulls
    /// `capitalShare()` from the applicant: relay the applicant's ERC-2612 permit to the ledger first.
    /// @param applicant The applicant (the signer).
    /// @param regionId The region applied for (registered on the RideLedger).
    /// @param maxCapitalShare The most capital share the applicant agreed to pay.
    /// @param deadline Last timestamp at which the application may be admitted.
    /// @param signature The applicant's signature (65 bytes, or an ERC-1271 contract signature).
    function admit(address applicant, uint32 regionId, uint256 maxCapitalShare, uint256 deadline, bytes calldata signature)
        external
    {
        if (msg.sender != admissions && msg.sender != owner()) revert NotAdmissions(msg.sender);
        if (block.timestamp > deadline) revert ApplicationExpired(deadline);
        uint256 share = capitalShare;
        if (share > maxCapitalShare) revert CapitalShareExceedsSigned(share, maxCapitalShare);
        bytes32 digest = _hashTypedDataV4(
            keccak256(
                abi.encode(APPLICATION_TYPEHASH, applicant, regionId, maxCapitalShare, _useNonce(applicant), deadline)
            )
        );
        if (!SignatureChecker.isValidSignatureNow(applicant, digest, signature)) {
            revert InvalidApplicationSignature(applicant);
        }
        _admit(applicant, regionId, share);
    }

    // ---------------------------------------------------------------- leaving and removal

    /// @notice The caller leaves the cooperative in good standing: the membership is burnt and the capital share
    /// paid at admission goes back to the caller's wallet. The caller may apply again later.
    function leave() external {
        _leave(msg.sender);
    }

    /// @notice Anyone relays `member`'s signed EIP-712 `Leave`, so leaving costs the member no gas.
    /// @param member The leaving member (the signer); the capital share goes to this address.
    /// @param deadline Last timestamp at which the signature is valid.
    /// @param signature The member's signature (65 bytes, or an ERC-1271 contract signature).
    function leaveBySig(address member, uint256 deadline, bytes calldata signature) external {
        if (block.timestamp > deadline) revert LeaveSignatureExpired(deadline);
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(LEAVE_TYPEHASH, member, _useNonce(member), deadline)));
        if (!SignatureChecker.isValidSignatureNow(member, digest, signature)) revert InvalidLeaveSignature(member);
        _leave(member);
    }

    /// @notice Governance removes `member`: burns the membership, bars the address from being admitted again and
    /// forfeits its capital share to the treasury.
    /// @param member The member to remove.
    function remove(address member) external onlyOwner {
        if (!isMember(member)) revert NotAMember(member);
        Record memory record = _records[member];
        isRevoked[member] = true;
        delete _records[member];
        _burn(tokenIdOf(member));
        emit MemberRemoved(member, record.regionId, record.capitalPaid);
        _observer().onRemoved(member, record.regionId, record.capitalPaid);
    }

    // ---------------------------------------------------------------- governance settings

    /// @notice Sets the capital share collected at each later admission (members admitted before keep theirs).
    /// @param newCapitalShare Fare-token units (0 for none; below 2**96).
    function setCapitalShare(uint256 newCapitalShare) external onlyOwner {
        newCapitalShare.toUint96();
        capitalShare = newCapitalShare;
        emit CapitalShareSet(newCapitalShare);
    }

    /// @notice Sets the admissions role.
    /// @param newAdmissions The key or committee contract that admits applicants (zero: governance only).
    function setAdmissions(address newAdmissions) external onlyOwner {
        admissions = newAdmissions;
        emit AdmissionsSet(newAdmissions);
    }

    /// @notice Sets the contract told about admissions, departures and removals.
    /// @param newObserver The observer (the RideLedger).
    function setObserver(address newObserver) external onlyOwner {
        observer = IMembershipObserver(newObserver);
        emit ObserverSet(newObserver);
    }

    // ---------------------------------------------------------------- views

    /// @notice Whether `account` holds a membership.
    function isMember(address account) public view returns (bool) {
        return _ownerOf(tokenIdOf(account)) == account && account != address(0);
    }

    /// @notice The region `member` was admitted to (0 if not a member).
    function regionOf(address member) external view returns (uint32) {
        return _records[member].regionId;
    }

    /// @notice When `member` was admitted (unix seconds); 0 if not a member.
    function admittedAt(address member) external view returns (uint48) {
        return _records[member].admittedAt;
    }

    /// @notice The capital share `member` paid at admission, held by the ledger (0 if not a member).
    function capitalPaid(address member) external view returns (uint256) {
        return _records[member].capitalPaid;
    }

    /// @notice The membership token id of `member`.
    function tokenIdOf(address member) public pure returns (uint256) {
        return uint256(uint160(member));
    }

    /// @notice ERC-5192: every membership is locked (soulbound). Reverts for a token that does not exist.
    function locked(uint256 tokenId) external view returns (bool) {
        _requireOwned(tokenId);
        return true;
    }

    /// @notice Memberships cannot be approved for transfer.
    function approve(address, uint256 tokenId) public pure override {
        revert Soulbound(tokenId);
    }

    /// @notice Memberships cannot be approved for transfer.
    function setApprovalForAll(address, bool) public pure override {
        revert Soulbound(0);
    }

    /// @notice ERC-6372 clock: block timestamps.
    function clock() public view override returns (uint48) {
        return uint48(block.timestamp);
    }

    /// @notice ERC-6372 clock mode.
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    /// @inheritdoc ERC721
    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return interfaceId == 0xb45a3c0e || super.supportsInterface(interfaceId);
    }

    // ---------------------------------------------------------------- internals

    function _admit(address member, uint32 regionId, uint256 share) private {
        if (isRevoked[member]) revert MembershipRevoked(member);
        uint256 tokenId = tokenIdOf(member);
        if (_ownerOf(tokenId) != address(0)) revert AlreadyMember(member);
        IMembershipObserver hook = _observer();
        // share <= capitalShare, which setCapitalShare keeps below 2**96.
        _records[member] = Record(regionId, clock(), uint96(share));
        _mint(member, tokenId);
        _delegate(member, member);
        emit Locked(tokenId);
        emit MemberAdmitted(member, regionId, share, msg.sender);
        hook.onAdmitted(member, regionId, share);
    }

    function _leave(address member) private {
        if (!isMember(member)) revert NotAMember(member);
        Record memory record = _records[member];
        delete _records[member];
        _burn(tokenIdOf(member));
        emit MemberLeft(member, record.regionId, record.capitalPaid);
        _observer().onLeft(member, record.regionId, record.capitalPaid);
    }

    function _observer() private view returns (IMembershipObserver hook) {
        hook = observer;
        if (address(hook) == address(0)) revert ObserverNotSet();
    }

    function _update(address to, uint256 tokenId, address auth)
        internal
        override(ERC721, ERC721Votes)
        returns (address from)
    {
        from = _ownerOf(tokenId);
        if (from != address(0) && to != address(0)) revert Soulbound(tokenId);
        return super._update(to, tokenId, auth);
    }

    function _increaseBalance(address account, uint128 amount) internal override(ERC721, ERC721Votes) {
        super._increaseBalance(account, amount);
    }
}
