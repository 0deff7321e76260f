// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC721Votes} from "@openzeppelin/contracts/token/ERC721/extensions/ERC721Votes.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IMembershipObserver} from "./interfaces/IMembershipObserver.sol";

/// @title Membership
/// @notice One soulbound membership NFT per member (ERC-721 + ERC-5192), worth exactly one vote.
/// @dev Token id = uint256(uint160(member)). Votes use a timestamp clock. Owner: the Timelock.
contract Membership is ERC721, EIP712, ERC721Votes, Ownable {
    bytes32 public constant JOIN_TYPEHASH =
        keccak256("Join(address member,uint32 regionId,uint256 nonce,uint256 deadline)");

    /// @notice Fare-token units the observer (the RideLedger) collects from a member on join.
    uint256 public joiningFee;
    /// @notice The contract told about joins and removals (the RideLedger).
    IMembershipObserver public observer;

    mapping(address member => uint32) private _regionOf;
    mapping(address member => bool) public isRevoked;

    /// @notice ERC-5192: the token is locked to its owner.
    event Locked(uint256 tokenId);
    event MemberJoined(address indexed member, uint32 indexed regionId, uint256 joiningFee);
    event MemberRemoved(address indexed member, uint32 indexed regionId);
    event JoiningFeeSet(uint256 joiningFee);
    event ObserverSet(address observer);

    error Soulbound(uint256 tokenId);
    error AlreadyMember(address member);
    error MembershipRevoked(address member);
    error NotAMember(address member);
    error JoinSignatureExpired(uint256 deadline);
    error InvalidJoinSignature(address member);
    error ObserverNotSet();

    constructor(address initialOwner)
        ERC721("CoopRide Membership", "COOP-M")
        EIP712("CoopRide Membership", "1")
        Ownable(initialOwner)
    {}

    /// @notice The caller joins the cooperative in `regionId` (pays the joining fee, if any, to the ledger).
    /// @param regionId A region registered on the RideLedger.
    function join(uint32 regionId) external {
        _join(msg.sender, regionId);
    }

    /// @notice Anyone relays `member`'s signed EIP-712 `Join`, so joining costs the member no gas.
    /// @param member The joining member (the signer).
    /// @param regionId The region to join.
    /// @param deadline Last timestamp at which the signature is valid.
    /// @param signature The member's signature (65 bytes, or an ERC-1271 contract signature).
    function joinBySig(address member, uint32 regionId, uint256 deadline, bytes calldata signature) external {
        if (block.timestamp > deadline) revert JoinSignatureExpired(deadline);
        bytes32 digest =
            _hashTypedDataV4(keccak256(abi.encode(JOIN_TYPEHASH, member, regionId, _useNonce(member), deadline)));
        if (!SignatureChecker.isValidSignatureNow(member, digest, signature)) revert InvalidJoinSignature(member);
        _join(member, regionId);
    }

    /// @notice Governance removes `member`: burns the membership and bars the address from rejoining.
    /// @param member The member to remove.
    function remove(address member) external onlyOwner {
        if (!isMember(member)) revert NotAMember(member);
        uint32 regionId = _regionOf[member];
        isRevoked[member] = true;
        delete _regionOf[member];
        _burn(tokenIdOf(member));
        emit MemberRemoved(member, regionId);
        _observer().onMembershipChanged(member, regionId, false, 0);
    }

    /// @notice Sets the joining fee in fare-token units.
    /// @param newJoiningFee The new fee (0 for free membership).
    function setJoiningFee(uint256 newJoiningFee) external onlyOwner {
        joiningFee = newJoiningFee;
        emit JoiningFeeSet(newJoiningFee);
    }

    /// @notice Sets the contract told about joins and removals.
    /// @param newObserver The observer (the RideLedger).
    function setObserver(address newObserver) external onlyOwner {
        observer = IMembershipObserver(newObserver);
        emit ObserverSet(newObserver);
    }

    /// @notice Whether `account` holds a membership.
    function isMember(address account) public view returns (bool) {
        return _ownerOf(tokenIdOf(account)) == account && account != address(0);
    }

    /// @notice The region `member` joined (0 if not a member).
    function regionOf(address member) external view returns (uint32) {
        return _regionOf[member];
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

    function _join(address member, uint32 regionId) private {
        if (isRevoked[member]) revert MembershipRevoked(member);
        uint256 tokenId = tokenIdOf(member);
        if (_ownerOf(tokenId) != address(0)) revert AlreadyMember(member);
        IMembershipObserver hook = _observer();
        _regionOf[member] = regionId;
        _mint(member, tokenId);
        _delegate(member, member);
        uint256 fee = joiningFee;
        emit Locked(tokenId);
        emit MemberJoined(member, regionId, fee);
        hook.onMembershipChanged(member, regionId, true, fee);
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
