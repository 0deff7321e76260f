// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IRideLedgerRider
/// @notice Escrow and pull payments: what members call on the RideLedger.
interface IRideLedgerRider {
    /// @notice Emitted when `amount` fare tokens (what actually arrived) enter `rider`'s escrow.
    event EscrowDeposited(address indexed rider, uint256 amount);
    /// @notice Emitted when `rider` withdraws `amount` from free escrow.
    event EscrowWithdrawn(address indexed rider, uint256 amount);
    /// @notice Emitted when `driver` withdraws `amount` of earned fares.
    event EarningsWithdrawn(address indexed driver, uint256 amount);

    /// @notice `account` is not a member.
    error NotMember(address account);
    /// @notice A zero amount was given (or arrived) where a positive one is needed.
    error ZeroAmount();
    /// @notice `account` asked for `requested` but holds only `available` (escrow in holds is not available).
    error InsufficientBalance(address account, uint256 available, uint256 requested);
    /// @notice The permit failed and is not `rider`'s unused signature for exactly these values.
    error InvalidPermit(address rider);
    /// @notice A signed request was relayed after its `deadline` (unix seconds).
    error SignatureExpired(uint256 deadline);
    /// @notice The signature is not `signer`'s over this request and the signer's current nonce.
    error InvalidSignature(address signer);

    /// @notice Deposits `amount` fare tokens (approved beforehand) into the caller's escrow; credits what arrived.
    /// @param amount Fare-token units.
    function deposit(uint256 amount) external;

    /// @notice Deposits into `rider`'s escrow with the rider's ERC-2612 permit; anyone may relay it. A permit that
    /// someone else already submitted still deposits, once, if it is the rider's signature for these values at the
    /// rider's previous token nonce; otherwise `InvalidPermit`.
    /// @param rider The member whose tokens move and whose escrow is credited.
    /// @param amount Fare-token units (the permit's value).
    /// @param deadline The permit's deadline.
    /// @param v The permit signature's v.
    /// @param r The permit signature's r.
    /// @param s The permit signature's s.
    function depositWithPermit(address rider, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external;

    /// @notice Withdraws `amount` from the caller's free escrow (members and former members alike).
    /// @param amount Fare-token units.
    function withdrawEscrow(uint256 amount) external;

    /// @notice Withdraws `amount` of the caller's earned fares.
    /// @param amount Fare-token units.
    function withdrawEarnings(uint256 amount) external;

    /// @notice Anyone relays `account`'s signed EIP-712
    /// `Withdrawal(address account,bool fromEarnings,uint256 amount,uint256 nonce,uint256 deadline)`; the tokens go
    /// to `account`.
    /// @param account The signer, whose balance is debited and who receives the tokens.
    /// @param fromEarnings True to withdraw earnings, false for free escrow.
    /// @param amount Fare-token units.
    /// @param deadline Last timestamp at which the signature is valid.
    /// @param signature The account's signature (65 bytes, or an ERC-1271 contract signature).
    function withdrawBySig(address account, bool fromEarnings, uint256 amount, uint256 deadline, bytes calldata signature)
        external;

    /// @notice Free fare tokens in `account`'s escrow (what holds do not reserve).
    function escrowOf(address account) external view returns (uint256);

    /// @notice Fare tokens `account` has earned and not yet withdrawn.
    function earningsOf(address account) external view returns (uint256);
}
