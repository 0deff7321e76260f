// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ICoopShareMinter} from "./interfaces/ICoopShareMinter.sol";

/// @title CoopShare
/// @notice The cooperative's shares: a non-transferable ERC-20 with a hard cap, minted by the RideLedger as
/// per-km rewards and by governance as grants. Shares carry the surplus, distributed in the fare token pro rata
/// to shares with O(1) gas per distribution and claimed by each member.
/// @dev Surplus accounting is the magnified-dividend-per-share accumulator. Each holder's balance and correction
/// share one storage slot, so a mint costs one storage write per holder. The correction is kept in fare-token
/// units, rounded against the holder on mint, so that claims can never exceed what was distributed.
contract CoopShare is ERC20, Ownable, ICoopShareMinter {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;
    using SafeCast for int256;

    struct Holder {
        uint96 balance;
        /// @dev Fare-token units: claimable = surplusPerShare * balance / MAGNITUDE + correction.
        int160 correction;
    }

    uint256 private constant MAGNITUDE = 2 ** 96;

    /// @notice The hard cap on the supply of shares.
    uint256 public immutable cap;
    /// @notice The token the surplus is paid in.
    IERC20 public immutable fareToken;
    /// @notice The one account that mints rewards (the RideLedger).
    address public minter;
    /// @notice Fare-token units distributed per share so far, times 2**96.
    uint256 public magnifiedSurplusPerShare;
    /// @notice Number of distributions so far.
    uint256 public distributionCount;

    uint256 private _supply;
    mapping(address account => Holder) private _holders;

    event MinterSet(address minter);
    event SharesGranted(address indexed to, uint256 amount, string reason);
    event SurplusDistributed(uint256 indexed id, uint256 amount, uint256 totalShares);
    event SurplusClaimed(address indexed member, uint256 amount);

    error SharesNotTransferable();
    error ShareCapExceeded(uint256 supply, uint256 amount, uint256 cap);
    error NotMinter(address caller);
    error LengthMismatch(uint256 recipients, uint256 amounts);
    error NothingToDistribute();
    error NoShares();
    error NothingToClaim(address member);
    error CapTooLarge(uint256 cap);

    constructor(uint256 cap_, IERC20 fareToken_, address initialOwner)
        ERC20("CoopRide Share", "COOP")
        Ownable(initialOwner)
    {
        if (cap_ > type(uint96).max) revert CapTooLarge(cap_);
        cap = cap_;
        fareToken = fareToken_;
    }

    /// @inheritdoc ICoopShareMinter
    function mintBatch(address[] calldata to, uint256[] calldata amounts) external {
        if (msg.sender != minter) revert NotMinter(msg.sender);
        if (to.length != amounts.length) revert LengthMismatch(to.length, amounts.length);
        uint256 perShare = magnifiedSurplusPerShare;
        uint256 minted;
        for (uint256 i; i < to.length; ++i) {
            _credit(to[i], amounts[i], perShare);
            minted += amounts[i];
        }
        uint256 supply = _supply;
        if (supply + minted > cap) revert ShareCapExceeded(supply, minted, cap);
        _supply = supply + minted;
    }

    /// @notice Governance grants `amount` shares to `to` for other contributions (code, organising, recruiting).
    /// @param to The recipient.
    /// @param amount Share units (18 decimals).
    /// @param reason Why, for the record.
    function grant(address to, uint256 amount, string calldata reason) external onlyOwner {
        if (_supply + amount > cap) revert ShareCapExceeded(_supply, amount, cap);
        _mint(to, amount);
        emit SharesGranted(to, amount, reason);
    }

    /// @notice Sets the minter (the RideLedger).
    /// @param newMinter The new minter.
    function setMinter(address newMinter) external onlyOwner {
        minter = newMinter;
        emit MinterSet(newMinter);
    }

    /// @inheritdoc ICoopShareMinter
    function distribute(uint256 amount) external {
        if (amount == 0) revert NothingToDistribute();
        uint256 supply = _supply;
        if (supply == 0) revert NoShares();
        fareToken.safeTransferFrom(msg.sender, address(this), amount);
        magnifiedSurplusPerShare += amount * MAGNITUDE / supply;
        emit SurplusDistributed(++distributionCount, amount, supply);
    }

    /// @notice Fare-token units `member` can claim now.
    function claimable(address member) public view returns (uint256) {
        Holder memory holder = _holders[member];
        int256 accrued = int256(Math.mulDiv(magnifiedSurplusPerShare, holder.balance, MAGNITUDE)) + holder.correction;
        return accrued > 0 ? uint256(accrued) : 0;
    }

    /// @notice Pays the caller their share of the surplus.
    /// @return amount Fare-token units paid.
    function claim() external returns (uint256 amount) {
        return _claim(msg.sender);
    }

    /// @notice Pays `member` their share of the surplus; anyone may relay it.
    /// @param member The shareholder paid.
    /// @return amount Fare-token units paid.
    function claimFor(address member) external returns (uint256 amount) {
        return _claim(member);
    }

    /// @inheritdoc ERC20
    function totalSupply() public view override(ERC20, ICoopShareMinter) returns (uint256) {
        return _supply;
    }

    /// @inheritdoc ERC20
    function balanceOf(address account) public view override returns (uint256) {
        return _holders[account].balance;
    }

    /// @notice Shares cannot be transferred.
    function transfer(address, uint256) public pure override returns (bool) {
        revert SharesNotTransferable();
    }

    /// @notice Shares cannot be transferred.
    function transferFrom(address, address, uint256) public pure override returns (bool) {
        revert SharesNotTransferable();
    }

    /// @notice Shares cannot be approved for transfer.
    function approve(address, uint256) public pure override returns (bool) {
        revert SharesNotTransferable();
    }

    function _claim(address member) private returns (uint256 amount) {
        amount = claimable(member);
        if (amount == 0) revert NothingToClaim(member);
        Holder storage holder = _holders[member];
        holder.correction = (int256(holder.correction) - amount.toInt256()).toInt160();
        fareToken.safeTransfer(member, amount);
        emit SurplusClaimed(member, amount);
    }

    /// @dev Mint only (grants; the ledger's rewards go through `mintBatch`).
    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0)) revert SharesNotTransferable();
        _supply += value;
        _credit(to, value, magnifiedSurplusPerShare);
    }

    /// @dev Adds `value` shares to `to`'s balance; the correction (rounded up) cancels the surplus accrued before the
    /// shares existed. The caller accounts for the supply.
    function _credit(address to, uint256 value, uint256 perShare) private {
        if (to == address(0)) revert ERC20InvalidReceiver(address(0));
        Holder memory holder = _holders[to];
        uint256 accruedBefore = perShare == 0 ? 0 : Math.mulDiv(perShare, value, MAGNITUDE, Math.Rounding.Ceil);
        _holders[to] = Holder({
            balance: (holder.balance + value).toUint96(),
            correction: (int256(holder.correction) - accruedBefore.toInt256()).toInt160()
        });
        emit Transfer(address(0), to, value);
    }
}
