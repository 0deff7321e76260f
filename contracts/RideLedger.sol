// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IMembershipObserver} from "./interfaces/IMembershipObserver.sol";
import {ICoopShareMinter} from "./interfaces/ICoopShareMinter.sol";
import {IRideLedgerRider} from "./interfaces/IRideLedgerRider.sol";
import {IRideLedgerBookings} from "./interfaces/IRideLedgerBookings.sol";
import {IRideLedgerSettler} from "./interfaces/IRideLedgerSettler.sol";
import {IRideLedgerGovernance} from "./interfaces/IRideLedgerGovernance.sol";
import {LedgerMessages} from "./libraries/LedgerMessages.sol";
import {Emission} from "./libraries/Emission.sol";
import {SettlementMath} from "./libraries/SettlementMath.sol";
import {EscrowBook} from "./libraries/EscrowBook.sol";

/// @title RideLedger
/// @notice Regions and their phases, fare escrow and per-booking holds, disputes and mediators' decisions, batched
/// settlement of driver-signed and attester-attested trip receipts, share rewards with daily caps and halving, and
/// the cooperative's treasury.
/// @dev Admin (DEFAULT_ADMIN_ROLE) is the Timelock. Settlement is built for gas: a shared trip's only storage of its
/// own is its hold, read once and cleared (the clearing refund pays for much of the trip); settled trip ids live in a
/// bitmap (256 per slot: the backend's trip ids are dense); each driver's earnings, reward counters, activity and
/// member flag share one slot, written once per run of that driver's receipts; one attestation signature and one
/// `mintBatch` call per batch.
contract RideLedger is
    AccessControl,
    Pausable,
    ReentrancyGuard,
    EIP712,
    Nonces,
    IMembershipObserver,
    IRideLedgerRider,
    IRideLedgerBookings,
    IRideLedgerSettler,
    IRideLedgerGovernance
{
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    bytes32 public constant SETTLER_ROLE = keccak256("SETTLER_ROLE");
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");
    bytes32 public constant ATTESTER_ROLE = keccak256("ATTESTER_ROLE");
    bytes32 public constant MEDIATOR_ROLE = keccak256("MEDIATOR_ROLE");
    /// @notice A driver counts towards critical mass for 30 days after the end of their last settled trip.
    uint256 public constant ACTIVITY_WINDOW = 30 days;

    /// @notice One slot per driver: settlement writes it once per run of the driver's receipts; the member check is
    /// free. `rewardDay`/`rewardedMetresToday` count the latest driving day seen; `lastActiveAt`/`activeRegion` are
    /// the end and region of the driver's latest settled trip (critical mass).
    struct Account {
        uint96 earnings;
        uint24 rewardDay;
        uint32 rewardedMetresToday;
        uint40 lastActiveAt;
        uint32 activeRegion;
        bool member;
    }

    /// @dev What `settle` keeps in memory between receipts: parameters read once, and cached storage words (the
    /// bitmap word, the last region, the last region-day reward counter, the current driver's packed account)
    /// written back once per word, run or batch; the current receipt's hold (slot and word); the receipts' digests
    /// for the attestation.
    struct Batch {
        bytes32 domainSeparator;
        uint256 feeBps;
        uint256 bootstrapRewardPerKm;
        uint256 operatingRewardPerKm;
        uint256 dailyRewardedMetres;
        uint256 halvingInterval;
        uint256 totalMinted;
        uint256 shareCap;
        uint256 maxTripSeconds;
        uint256 disputeWindow;
        uint256 maxReceiptAge;
        uint256 treasuryGain;
        uint256 wordIndex;
        uint256 word;
        bool wordDirty;
        uint256 regionId;
        uint256 regionWord;
        uint256 capRegionId;
        uint256 capDay;
        uint256 capMetres;
        bool capDirty;
        address driver;
        uint256 driverAccount;
        bool driverDirty;
        uint256 driverShares;
        uint256 holdSlot;
        uint256 hold;
        address[] mintTo;
        uint256[] mintAmounts;
        uint256 mintCount;
        bytes32[] digests;
    }

    /// @dev Bit offsets of the packed `Account`, `Region` and `HoldRecord` words (Solidity packs struct members from
    /// the low bits); tests/contracts/test_ledger_layout.py checks them against the declarations.
    uint256 private constant REWARD_DAY_SHIFT = 96;
    uint256 private constant REWARDED_METRES_SHIFT = 120;
    uint256 private constant LAST_ACTIVE_AT_SHIFT = 152;
    uint256 private constant ACTIVE_REGION_SHIFT = 192;
    uint256 private constant MEMBER_SHIFT = 224;
    /// @dev rewardDay (24 bits) and rewardedMetresToday (32 bits), from REWARD_DAY_SHIFT.
    uint256 private constant REWARD_COUNTERS_MASK = (1 << 56) - 1;
    /// @dev lastActiveAt (40 bits) and activeRegion (32 bits), from LAST_ACTIVE_AT_SHIFT.
    uint256 private constant ACTIVITY_MASK = (1 << 72) - 1;
    uint256 private constant REGION_OPERATING_SHIFT = 160;
    uint256 private constant REGION_EXISTS_SHIFT = 168;
    uint256 private constant REGION_PHASE_CHANGED_AT_SHIFT = 176;
    uint256 private constant REGION_DAILY_REWARDED_KM_SHIFT = 216;
    uint256 private constant HOLD_EXPIRY_SHIFT = 136;
    uint256 private constant HOLD_STATE_SHIFT = 176;

    /// @dev `HoldState` values, for the assembly loop.
    uint256 private constant HOLD_ACTIVE = 1;
    uint256 private constant HOLD_DISPUTED = 2;
    uint256 private constant HOLD_RESOLVED_PAID = 3;
    uint256 private constant HOLD_RESOLVED_UNPAID = 4;

    /// @dev A `SignedReceipt` is 13 static words in calldata: the receipt's nine fields, then driverR, driverVS,
    /// riderR, riderVS. `settle` reads them by offset.
    uint256 private constant SIGNED_RECEIPT_BYTES = 0x1a0;
    uint256 private constant TRIP_ID = 0x00;
    uint256 private constant DRIVER = 0x20;
    uint256 private constant RIDER = 0x40;
    uint256 private constant REGION_ID = 0x60;
    uint256 private constant DISTANCE = 0x80;
    uint256 private constant FARE = 0xa0;
    uint256 private constant START_TIME = 0xc0;
    uint256 private constant END_TIME = 0xe0;
    uint256 private constant DRIVER_R = 0x120;
    uint256 private constant DRIVER_VS = 0x140;
    uint256 private constant RIDER_R = 0x160;
    uint256 private constant RIDER_VS = 0x180;
    /// @dev Bitmap word indexes are below 2**56 (trip ids are uint64): this one means "no word cached".
    uint256 private constant NO_WORD = type(uint256).max;

    /// @dev Byte offsets of `Batch`'s fields for `_settleReceipts`: a memory struct holds one word per member, in
    /// declaration order. Keep in step with `Batch` (test_ledger_layout.py checks).
    uint256 private constant B_DOMAIN_SEPARATOR = 0x000;
    uint256 private constant B_FEE_BPS = 0x020;
    uint256 private constant B_BOOTSTRAP_REWARD_PER_KM = 0x040;
    uint256 private constant B_OPERATING_REWARD_PER_KM = 0x060;
    uint256 private constant B_DAILY_REWARDED_METRES = 0x080;
    uint256 private constant B_HALVING_INTERVAL = 0x0a0;
    uint256 private constant B_TOTAL_MINTED = 0x0c0;
    uint256 private constant B_SHARE_CAP = 0x0e0;
    uint256 private constant B_MAX_TRIP_SECONDS = 0x100;
    uint256 private constant B_DISPUTE_WINDOW = 0x120;
    uint256 private constant B_MAX_RECEIPT_AGE = 0x140;
    uint256 private constant B_TREASURY_GAIN = 0x160;
    uint256 private constant B_WORD_INDEX = 0x180;
    uint256 private constant B_WORD = 0x1a0;
    uint256 private constant B_WORD_DIRTY = 0x1c0;
    uint256 private constant B_REGION_ID = 0x1e0;
    uint256 private constant B_REGION_WORD = 0x200;
    uint256 private constant B_CAP_REGION_ID = 0x220;
    uint256 private constant B_CAP_DAY = 0x240;
    uint256 private constant B_CAP_METRES = 0x260;
    uint256 private constant B_CAP_DIRTY = 0x280;
    uint256 private constant B_DRIVER = 0x2a0;
    uint256 private constant B_DRIVER_ACCOUNT = 0x2c0;
    uint256 private constant B_DRIVER_DIRTY = 0x2e0;
    uint256 private constant B_DRIVER_SHARES = 0x300;
    uint256 private constant B_HOLD_SLOT = 0x320;
    uint256 private constant B_HOLD = 0x340;
    uint256 private constant B_MINT_TO = 0x360;
    uint256 private constant B_MINT_AMOUNTS = 0x380;
    uint256 private constant B_MINT_COUNT = 0x3a0;
    uint256 private constant B_DIGESTS = 0x3c0;

    /// @dev `_settleReceipts`' scratch memory past the free pointer (layout in its NatSpec).
    uint256 private constant S_STRUCT_HASH_IN = 0x000;
    uint256 private constant S_DIGEST_IN = 0x140;
    uint256 private constant S_ECRECOVER_IN = 0x1a0;
    uint256 private constant S_EVENT_DATA = 0x240;
    uint256 private constant S_HOLD_KEY = 0x2a0;
    /// @dev A receipt's nine fields (LedgerMessages.RECEIPT_BYTES), and behind the type hash.
    uint256 private constant RECEIPT_FIELDS_BYTES = 0x120;
    uint256 private constant STRUCT_HASH_INPUT_BYTES = 0x140;

    /// @dev `RejectReason` values, for the assembly loop.
    uint256 private constant REJECT_ALREADY_SETTLED = 1;
    uint256 private constant REJECT_BAD_DRIVER_SIGNATURE = 2;
    uint256 private constant REJECT_BAD_RIDER_SIGNATURE = 3;
    uint256 private constant REJECT_NOT_MEMBER = 4;
    uint256 private constant REJECT_UNKNOWN_REGION = 5;
    uint256 private constant REJECT_REGION_NOT_OPERATING = 6;
    uint256 private constant REJECT_FARE_EXCEEDS_AUTHORISED = 7;
    uint256 private constant REJECT_NOT_AUTHORISED = 8;
    uint256 private constant REJECT_INVALID_TRIP = 9;
    uint256 private constant REJECT_EXPIRED = 10;
    uint256 private constant REJECT_DISPUTED = 11;
    uint256 private constant REJECT_DISPUTE_WINDOW_OPEN = 12;
    uint256 private constant REJECT_SOLO_IN_OPERATING_REGION = 13;

    /// @dev keccak256("TripSettled(uint256,uint256,uint256,uint256)") and keccak256("TripRejected(uint256,uint8)")
    /// (inline assembly takes literal constants only; the constructor checks them against the events' selectors).
    uint256 private constant TRIP_SETTLED_TOPIC = 0x75e06cb987d4218ad161bbaf87511f1d3d32475e5386835c11332a93dcad0d91;
    uint256 private constant TRIP_REJECTED_TOPIC = 0x8b7e69ffc53b428ca4eb221df0b36970e63f1463fbaf9458161051bda99f1a7a;
    /// @dev SafeCast.SafeCastOverflowedUintDowncast.selector, left-aligned in a word.
    uint256 private constant SAFE_CAST_OVERFLOWED_UINT_DOWNCAST = 0x6dfcc650 << 224;
    uint256 private constant UINT96_MAX = (1 << 96) - 1;
    uint256 private constant UINT40_MAX = (1 << 40) - 1;
    /// @dev SettlementMath's constants, for the assembly loop.
    uint256 private constant METRES_PER_KM = 1000;
    uint256 private constant BPS = 10_000;
    uint256 private constant MAX_SPEED_NUMERATOR = 500;
    uint256 private constant MAX_SPEED_DENOMINATOR = 9;
    uint256 private constant SECONDS_PER_DAY = 86_400;

    IERC20 public immutable fareToken;
    address public immutable membership;
    ICoopShareMinter public immutable shares;
    /// @dev CoopShare's cap is immutable too: read once here rather than once per batch.
    uint256 private immutable _shareCap;

    uint16 public feeBps;
    uint96 public bootstrapRewardPerKm;
    uint96 public operatingRewardPerKm;
    uint32 public dailyRewardedMetres;
    /// @notice The longest trip (end - start) a receipt may report, in seconds.
    uint32 public maxTripSeconds;
    /// @notice Seconds after a trip's end before an unconfirmed fare is paid (disputes are open until then).
    uint32 public disputeWindow;
    /// @notice Seconds after a trip's end after which its receipt is `Expired`.
    uint32 public maxReceiptAge;
    uint256 public halvingInterval;
    uint256 public treasuryBalance;

    mapping(address account => Account) private _accounts;
    mapping(uint32 regionId => Region) private _regions;
    mapping(uint256 wordIndex => uint256) private _settledWords;
    mapping(address account => EscrowBook.Escrow) private _escrow;
    /// @dev keccak256(abi.encode(tripId, driver, rider)) => hold.
    mapping(bytes32 holdKey => EscrowBook.HoldRecord) private _holds;
    mapping(uint32 regionId => mapping(uint256 day => uint256 metres)) private _regionDayMetres;

    /// @param fareToken_ The ERC-20 fares are paid in (no rebasing token: balances are credited as they arrive).
    /// @param membership_ The Membership contract (the only caller of the membership hooks).
    /// @param shares_ The CoopShare contract this ledger mints.
    /// @param admin The initial admin (the deployer hands it to the Timelock).
    /// @param feeBps_ Cooperative fee in basis points.
    /// @param bootstrapRewardPerKm_ Shares per km in bootstrap regions.
    /// @param operatingRewardPerKm_ Shares per shared km in operating regions.
    /// @param halvingInterval_ Minted shares per halving of the reward rate.
    /// @param dailyRewardedMetres_ Rewarded metres per driver per driving day.
    /// @dev Trip bounds and receipt windows start at production values (6 h trips, 24 h dispute window, receipts
    /// expire after 14 days); the deploy script sets the deployment's own before handing over.
    constructor(
        IERC20 fareToken_,
        address membership_,
        ICoopShareMinter shares_,
        address admin,
        uint16 feeBps_,
        uint96 bootstrapRewardPerKm_,
        uint96 operatingRewardPerKm_,
        uint256 halvingInterval_,
        uint32 dailyRewardedMetres_
    ) EIP712("CoopRide", "1") {
        // The assembly loop's literal constants, against what they stand for (folded away at compile time).
        assert(
            bytes32(TRIP_SETTLED_TOPIC) == TripSettled.selector && bytes32(TRIP_REJECTED_TOPIC) == TripRejected.selector
                && bytes4(uint32(SAFE_CAST_OVERFLOWED_UINT_DOWNCAST >> 224))
                    == SafeCast.SafeCastOverflowedUintDowncast.selector && BPS == SettlementMath.BPS
                && METRES_PER_KM == SettlementMath.METRES_PER_KM
                && MAX_SPEED_NUMERATOR == SettlementMath.MAX_SPEED_NUMERATOR
                && MAX_SPEED_DENOMINATOR == SettlementMath.MAX_SPEED_DENOMINATOR
                && RECEIPT_FIELDS_BYTES == LedgerMessages.RECEIPT_BYTES && SECONDS_PER_DAY == 1 days
                && HOLD_ACTIVE == uint256(HoldState.Active) && HOLD_DISPUTED == uint256(HoldState.Disputed)
                && HOLD_RESOLVED_PAID == uint256(HoldState.ResolvedPaid)
                && HOLD_RESOLVED_UNPAID == uint256(HoldState.ResolvedUnpaid)
                && REJECT_SOLO_IN_OPERATING_REGION == uint256(RejectReason.SoloInOperatingRegion)
                && REJECT_FARE_EXCEEDS_AUTHORISED == uint256(RejectReason.FareExceedsAuthorised)
                && REJECT_DISPUTE_WINDOW_OPEN == uint256(RejectReason.DisputeWindowOpen)
        );
        if (address(fareToken_) == address(0) || membership_ == address(0) || address(shares_) == address(0)) {
            revert ZeroAddress();
        }
        fareToken = fareToken_;
        membership = membership_;
        shares = shares_;
        _shareCap = shares_.cap();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setFeeBps(feeBps_);
        _setRewards(bootstrapRewardPerKm_, operatingRewardPerKm_);
        _setHalvingInterval(halvingInterval_);
        _setDailyRewardedMetres(dailyRewardedMetres_);
        _setTripBounds(6 hours);
        _setReceiptWindows(24 hours, 14 days);
    }

    // ---------------------------------------------------------------- membership hooks

    /// @notice Fare tokens held as the current members' capital shares: apart from the treasury, never spent.
    uint256 public capitalHeld;

    /// @inheritdoc IMembershipObserver
    function onAdmitted(address member, uint32 regionId, uint256 capitalShare) external nonReentrant {
        Region storage r = _memberRegion(regionId);
        _accounts[member].member = true;
        uint32 members = r.members + 1;
        r.members = members;
        emit RegionMembersChanged(regionId, member, true, members);
        if (capitalShare != 0) {
            uint256 before = fareToken.balanceOf(address(this));
            fareToken.safeTransferFrom(member, address(this), capitalShare);
            uint256 received = fareToken.balanceOf(address(this)) - before;
            if (received != capitalShare) revert CapitalShareNotReceived(capitalShare, received);
            capitalHeld += capitalShare;
            emit CapitalShareCollected(member, capitalShare);
        }
    }

    /// @inheritdoc IMembershipObserver
    function onLeft(address member, uint32 regionId, uint256 capitalShare) external nonReentrant {
        _memberGone(member, _memberRegion(regionId), regionId, capitalShare);
        if (capitalShare != 0) {
            fareToken.safeTransfer(member, capitalShare);
            emit CapitalShareReturned(member, capitalShare);
        }
    }

    /// @inheritdoc IMembershipObserver
    function onRemoved(address member, uint32 regionId, uint256 capitalShare) external nonReentrant {
        _memberGone(member, _memberRegion(regionId), regionId, capitalShare);
        if (capitalShare != 0) {
            treasuryBalance += capitalShare;
            emit CapitalShareForfeited(member, capitalShare);
        }
    }

    /// @dev The caller must be the Membership; the region must exist.
    function _memberRegion(uint32 regionId) private view returns (Region storage r) {
        if (msg.sender != membership) revert OnlyMembership(msg.sender);
        r = _regions[regionId];
        if (!r.exists) revert UnknownRegion(regionId);
    }

    /// @dev `member` leaves the region's count; their capital share leaves `capitalHeld`.
    function _memberGone(address member, Region storage r, uint32 regionId, uint256 capitalShare) private {
        _accounts[member].member = false;
        uint32 members = r.members - 1;
        r.members = members;
        emit RegionMembersChanged(regionId, member, false, members);
        capitalHeld -= capitalShare;
    }

    // ---------------------------------------------------------------- escrow and pull payments

    /// @inheritdoc IRideLedgerRider
    function deposit(uint256 amount) external nonReentrant {
        _deposit(msg.sender, amount);
    }

    /// @inheritdoc IRideLedgerRider
    function depositWithPermit(address rider, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
    {
        EscrowBook.usePermit(_escrow, IERC20Permit(address(fareToken)), rider, amount, deadline, v, r, s);
        _deposit(rider, amount);
    }

    /// @inheritdoc IRideLedgerRider
    function withdrawEscrow(uint256 amount) external nonReentrant {
        _withdraw(msg.sender, false, amount);
    }

    /// @inheritdoc IRideLedgerRider
    function withdrawEarnings(uint256 amount) external nonReentrant {
        _withdraw(msg.sender, true, amount);
    }

    /// @inheritdoc IRideLedgerRider
    function withdrawBySig(address account, bool fromEarnings, uint256 amount, uint256 deadline, bytes calldata signature)
        external
        nonReentrant
    {
        bytes32 structHash = keccak256(
            abi.encode(LedgerMessages.WITHDRAWAL_TYPEHASH, account, fromEarnings, amount, _useNonce(account), deadline)
        );
        _checkSignature(account, deadline, structHash, signature);
        _withdraw(account, fromEarnings, amount);
    }

    /// @inheritdoc IRideLedgerRider
    function escrowOf(address account) external view returns (uint256) {
        return _escrow[account].balance;
    }

    /// @inheritdoc IRideLedgerRider
    function earningsOf(address account) external view returns (uint256) {
        return _accounts[account].earnings;
    }

    /// @notice Whether `account` is a member, as the ledger records it.
    function isMember(address account) external view returns (bool) {
        return _accounts[account].member;
    }

    /// @notice The latest driving day (UTC day of a trip's end) `driver` was rewarded for, and the metres rewarded
    /// on it.
    function rewardedMetres(address driver) external view returns (uint256 rewardDay, uint256 metres) {
        Account storage account = _accounts[driver];
        return (account.rewardDay, account.rewardedMetresToday);
    }

    /// @notice The end time and region of `driver`'s latest settled trip (critical mass counts it for 30 days).
    function activityOf(address driver) external view returns (uint256 lastActiveAt, uint32 regionId) {
        Account storage account = _accounts[driver];
        return (account.lastActiveAt, account.activeRegion);
    }

    /// @dev Credits what actually arrived: a fee-on-transfer token credits less than `amount`, never more.
    function _deposit(address rider, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        if (!_accounts[rider].member) revert NotMember(rider);
        uint256 before = fareToken.balanceOf(address(this));
        fareToken.safeTransferFrom(rider, address(this), amount);
        uint256 received = fareToken.balanceOf(address(this)) - before;
        if (received == 0) revert ZeroAmount();
        EscrowBook.credit(_escrow, rider, received);
        emit EscrowDeposited(rider, received);
    }

    function _withdraw(address account, bool fromEarnings, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        if (fromEarnings) {
            Account storage driver = _accounts[account];
            uint256 available = driver.earnings;
            if (available < amount) revert InsufficientBalance(account, available, amount);
            driver.earnings = uint96(available - amount);
            emit EarningsWithdrawn(account, amount);
        } else {
            EscrowBook.Escrow storage escrow = _escrow[account];
            uint256 available = escrow.balance;
            if (available < amount) revert InsufficientBalance(account, available, amount);
            escrow.balance = uint96(available - amount);
            emit EscrowWithdrawn(account, amount);
        }
        fareToken.safeTransfer(account, amount);
    }

    /// @dev Reverts unless `signer` signed the EIP-712 struct `structHash` in this ledger's domain before `deadline`.
    function _checkSignature(address signer, uint256 deadline, bytes32 structHash, bytes calldata signature)
        private
        view
    {
        if (block.timestamp > deadline) revert SignatureExpired(deadline);
        if (!SignatureChecker.isValidSignatureNow(signer, _hashTypedDataV4(structHash), signature)) {
            revert InvalidSignature(signer);
        }
    }

    // ---------------------------------------------------------------- bookings: authorisation, holds, disputes

    /// @inheritdoc IRideLedgerBookings
    function authoriseFare(FareAuthorisation calldata auth, bytes calldata riderSignature) external {
        _checkAuthorisation(auth, riderSignature);
        EscrowBook.hold(_holds, _escrow, auth);
    }

    /// @inheritdoc IRideLedgerBookings
    function releaseHold(uint64 tripId, address driver, address rider) external {
        _releaseHold(tripId, driver, rider, msg.sender);
    }

    /// @inheritdoc IRideLedgerBookings
    function releaseHoldBySig(
        uint64 tripId,
        address driver,
        address rider,
        address signer,
        uint256 deadline,
        bytes calldata signature
    ) external {
        bytes32 structHash = keccak256(
            abi.encode(LedgerMessages.HOLD_RELEASE_TYPEHASH, tripId, driver, rider, signer, _useNonce(signer), deadline)
        );
        _checkSignature(signer, deadline, structHash, signature);
        _releaseHold(tripId, driver, rider, signer);
    }

    /// @inheritdoc IRideLedgerBookings
    function dispute(uint64 tripId, address driver, address rider, string calldata reason) external {
        _dispute(tripId, driver, rider, reason, msg.sender);
    }

    /// @inheritdoc IRideLedgerBookings
    function disputeBySig(
        uint64 tripId,
        address driver,
        address rider,
        string calldata reason,
        address by,
        uint256 deadline,
        bytes calldata signature
    ) external {
        bytes32 structHash = keccak256(
            abi.encode(
                LedgerMessages.DISPUTE_TYPEHASH,
                tripId,
                driver,
                rider,
                keccak256(bytes(reason)),
                by,
                _useNonce(by),
                deadline
            )
        );
        _checkSignature(by, deadline, structHash, signature);
        _dispute(tripId, driver, rider, reason, by);
    }

    /// @inheritdoc IRideLedgerBookings
    function resolveDispute(uint64 tripId, address driver, address rider, uint96 award, string calldata reason)
        external
        whenNotPaused
    {
        _resolveDispute(tripId, driver, rider, award, reason, msg.sender);
    }

    /// @inheritdoc IRideLedgerBookings
    function resolveDisputeBySig(
        uint64 tripId,
        address driver,
        address rider,
        uint96 award,
        string calldata reason,
        address mediator,
        uint256 deadline,
        bytes calldata signature
    ) external whenNotPaused {
        bytes32 structHash = keccak256(
            abi.encode(
                LedgerMessages.RESOLUTION_TYPEHASH,
                tripId,
                driver,
                rider,
                award,
                keccak256(bytes(reason)),
                mediator,
                _useNonce(mediator),
                deadline
            )
        );
        _checkSignature(mediator, deadline, structHash, signature);
        _resolveDispute(tripId, driver, rider, award, reason, mediator);
    }

    /// @inheritdoc IRideLedgerBookings
    function holdOf(uint64 tripId, address driver, address rider) external view returns (Hold memory) {
        EscrowBook.HoldRecord storage hold = _holds[EscrowBook.holdKey(tripId, driver, rider)];
        return Hold({maxFare: hold.maxFare, cancelBy: hold.cancelBy, expiry: hold.expiry, state: hold.state});
    }

    /// @inheritdoc IRideLedgerBookings
    function isHoldReleased(uint64 tripId, address driver, address rider) external view returns (bool) {
        return _holds[EscrowBook.holdKey(tripId, driver, rider)].released;
    }

    /// @dev `authoriseFare`'s checks but the hold's own (EscrowBook.hold checks that none exists and the funds).
    function _checkAuthorisation(FareAuthorisation calldata auth, bytes calldata riderSignature) private view {
        uint64 tripId = auth.tripId;
        address rider = auth.rider;
        address driver = auth.driver;
        if (block.timestamp >= auth.expiry) revert AuthorisationExpired(auth.expiry);
        if (rider == driver || auth.cancelBy > auth.expiry) revert InvalidAuthorisation(tripId);
        if (!_accounts[rider].member) revert NotMember(rider);
        if (!_accounts[driver].member) revert NotMember(driver);
        _existingRegion(auth.regionId);
        if (_isSettled(tripId)) revert TripAlreadySettled(tripId);
        if (!SignatureChecker.isValidSignatureNow(rider, _hashTypedDataV4(_authorisationHash(auth)), riderSignature)) {
            revert InvalidSignature(rider);
        }
    }

    function _releaseHold(uint64 tripId, address driver, address rider, address by) private {
        EscrowBook.release(_holds, _escrow, tripId, driver, rider, by, maxReceiptAge);
    }

    function _dispute(uint64 tripId, address driver, address rider, string calldata reason, address by) private {
        EscrowBook.dispute(_holds, tripId, driver, rider, reason, by);
    }

    function _resolveDispute(
        uint64 tripId,
        address driver,
        address rider,
        uint96 award,
        string calldata reason,
        address mediator
    ) private {
        if (!hasRole(MEDIATOR_ROLE, mediator) || !_accounts[mediator].member) revert NotMediator(mediator);
        uint256 fee = EscrowBook.resolve(_holds, _escrow, tripId, driver, rider, award, reason, mediator, feeBps);
        treasuryBalance += fee;
        Account storage account = _accounts[driver];
        account.earnings = (account.earnings + award - fee).toUint96();
    }

    /// @dev The EIP-712 struct hash of `auth`: its eleven static fields in calldata are exactly their `abi.encode`
    /// (a word that is not a clean encoding only yields a hash the rider never signed).
    function _authorisationHash(FareAuthorisation calldata auth) private pure returns (bytes32 structHash) {
        bytes32 typeHash = LedgerMessages.FARE_AUTHORISATION_TYPEHASH;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typeHash)
            calldatacopy(add(ptr, 0x20), auth, 0x160)
            structHash := keccak256(ptr, 0x180)
        }
    }

    // ---------------------------------------------------------------- settlement

    /// @inheritdoc IRideLedgerSettler
    function settle(bytes32 batchId, SignedReceipt[] calldata receipts, bytes32 attesterR, bytes32 attesterVS)
        external
        onlyRole(SETTLER_ROLE)
        whenNotPaused
        returns (uint256 settled)
    {
        Batch memory b = _openBatch(receipts.length);
        uint256 at;
        uint256 end;
        // The ABI decoder has checked that the whole array lies within calldata.
        assembly ("memory-safe") {
            at := receipts.offset
            end := add(at, mul(receipts.length, SIGNED_RECEIPT_BYTES))
        }
        settled = _settleReceipts(b, at, end, LedgerMessages.TRIP_RECEIPT_TYPEHASH);
        _checkAttestation(batchId, b.digests, attesterR, attesterVS);
        _closeBatch(b);
        emit BatchSettled(batchId, settled, receipts.length - settled);
    }

    /// @inheritdoc IRideLedgerSettler
    function isSettled(uint256 tripId) external view returns (bool) {
        return _isSettled(tripId);
    }

    /// @inheritdoc IRideLedgerSettler
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    function _isSettled(uint256 tripId) private view returns (bool) {
        return _settledWords[tripId >> 8] & (1 << (tripId & 0xff)) != 0;
    }

    function _openBatch(uint256 size) private view returns (Batch memory b) {
        b.domainSeparator = _domainSeparatorV4();
        b.feeBps = feeBps;
        b.bootstrapRewardPerKm = bootstrapRewardPerKm;
        b.operatingRewardPerKm = operatingRewardPerKm;
        b.dailyRewardedMetres = dailyRewardedMetres;
        b.maxTripSeconds = maxTripSeconds;
        b.disputeWindow = disputeWindow;
        b.maxReceiptAge = maxReceiptAge;
        b.halvingInterval = halvingInterval;
        b.totalMinted = shares.totalSupply();
        b.shareCap = _shareCap;
        b.wordIndex = NO_WORD;
        b.mintTo = new address[](size);
        b.mintAmounts = new uint256[](size);
        b.digests = new bytes32[](size);
    }

    /// @dev Reverts `BadAttestation` unless a holder of ATTESTER_ROLE signed `Attestation(batchId, receiptsHash)`.
    function _checkAttestation(bytes32 batchId, bytes32[] memory digests, bytes32 r, bytes32 vs) private view {
        bytes32 receiptsHash;
        assembly ("memory-safe") {
            receiptsHash := keccak256(add(digests, 0x20), shl(5, mload(digests)))
        }
        bytes32 digest =
            _hashTypedDataV4(keccak256(abi.encode(LedgerMessages.ATTESTATION_TYPEHASH, batchId, receiptsHash)));
        (address signer,,) = ECDSA.tryRecover(digest, r, vs);
        if (signer == address(0) || !hasRole(ATTESTER_ROLE, signer)) revert BadAttestation(signer);
    }

    /// @dev Settles every signed receipt in calldata [at, end): each either settles (`TripSettled`) or is rejected
    /// (`TripRejected`, nothing written), by the rules of docs/design.md in their order:
    ///   1 well-formed and plausible (InvalidTrip)       2 not settled (AlreadySettled)
    ///   3 the driver's signature (BadDriverSignature)    4 region (UnknownRegion), driver a member (NotMember)
    ///   5 the phase at endTime (RegionNotOperating, SoloInOperatingRegion)
    ///   6 shared: the hold (NotAuthorised, Disputed, FareExceedsAuthorised, BadRiderSignature, DisputeWindowOpen)
    ///   7 age (Expired, not for decided holds)          8 money   9 shares   10 activity   11 bitmap and event.
    /// Every receipt's EIP-712 digest goes to `b.digests` for the batch's attestation, rejected or not. On return the
    /// cached driver and region-day counter are written back and the driver's shares queued; `_closeBatch` writes
    /// the rest of `b`.
    ///
    /// One assembly block, so that a receipt costs no Solidity call frames, checked arithmetic or cleanups; its Yul
    /// functions mirror the rules. Running state lives in `b` (fields at the B_* offsets) and the receipt's words are
    /// read from calldata where they are. Nothing is allocated during the loop, so the memory past the free pointer
    /// serves as scratch (offsets from `scratch`, see the S_* constants):
    ///   S_STRUCT_HASH_IN  0x000  typeHash, then the receipt's nine words     keccak256 over 0x140 bytes
    ///   S_DIGEST_IN       0x140  0x1901 . domainSeparator . structHash      keccak256 over 0x42 bytes
    ///   S_ECRECOVER_IN    0x1a0  digest, v, r, s; then the recovered signer  the precompile's input and output
    ///   S_EVENT_DATA      0x240  fare, fee, shares / reason                 the log's data
    ///   S_HOLD_KEY        0x2a0  tripId, driver, rider                      keccak256 over 0x60 bytes (hold key)
    /// The typeHash and the digest's prefix and domain separator are written once per batch; the digest is written
    /// once per receipt and serves the driver's signature and the rider's confirmation.
    function _settleReceipts(Batch memory b, uint256 at, uint256 end, bytes32 typeHash)
        private
        returns (uint256 settled)
    {
        assembly ("memory-safe") {
            // ------------------------------------------------------------ storage access and the caches in `b`

            /// The storage slot of `mapping[key]` for a mapping at `mappingSlot_`.
            function mappingSlot(key, mappingSlot_) -> slot {
                mstore(0x00, key)
                mstore(0x20, mappingSlot_)
                slot := keccak256(0x00, 0x40)
            }

            /// Caches bitmap word `wordIndex` in `b`, writing the previous word back first if it changed.
            function loadBitmapWord(b_, wordIndex) -> word {
                if mload(add(b_, B_WORD_DIRTY)) {
                    sstore(mappingSlot(mload(add(b_, B_WORD_INDEX)), _settledWords.slot), mload(add(b_, B_WORD)))
                    mstore(add(b_, B_WORD_DIRTY), 0)
                }
                word := sload(mappingSlot(wordIndex, _settledWords.slot))
                mstore(add(b_, B_WORD_INDEX), wordIndex)
                mstore(add(b_, B_WORD), word)
            }

            /// Caches region `regionId`'s packed word in `b` (`settle` makes no external call before the end, so
            /// regions cannot change meanwhile). Region id 0 is never registered, so the initial cache (id 0, word
            /// 0) correctly reads as unknown.
            function loadRegion(b_, regionId) -> packed {
                packed := sload(mappingSlot(regionId, _regions.slot))
                mstore(add(b_, B_REGION_ID), regionId)
                mstore(add(b_, B_REGION_WORD), packed)
            }

            /// Writes the cached region-day reward counter back if it changed.
            function writeRegionDay(b_) {
                if mload(add(b_, B_CAP_DIRTY)) {
                    let regionSlot := mappingSlot(mload(add(b_, B_CAP_REGION_ID)), _regionDayMetres.slot)
                    sstore(mappingSlot(mload(add(b_, B_CAP_DAY)), regionSlot), mload(add(b_, B_CAP_METRES)))
                    mstore(add(b_, B_CAP_DIRTY), 0)
                }
            }

            /// The metres rewarded in `regionId` on driving day `day`, from the one counter cached in `b` (the
            /// initial cache names region 0, never registered).
            function regionDayMetres(b_, regionId, day) -> metres {
                if and(eq(regionId, mload(add(b_, B_CAP_REGION_ID))), eq(day, mload(add(b_, B_CAP_DAY)))) {
                    metres := mload(add(b_, B_CAP_METRES))
                    leave
                }
                writeRegionDay(b_)
                let regionSlot := mappingSlot(regionId, _regionDayMetres.slot)
                metres := sload(mappingSlot(day, regionSlot))
                mstore(add(b_, B_CAP_REGION_ID), regionId)
                mstore(add(b_, B_CAP_DAY), day)
                mstore(add(b_, B_CAP_METRES), metres)
            }

            /// Writes the cached driver's account word back if it changed.
            function writeDriver(b_) {
                if mload(add(b_, B_DRIVER_DIRTY)) {
                    sstore(mappingSlot(mload(add(b_, B_DRIVER)), _accounts.slot), mload(add(b_, B_DRIVER_ACCOUNT)))
                    mstore(add(b_, B_DRIVER_DIRTY), 0)
                }
            }

            /// Queues the cached driver's shares for the batch's single `mintBatch` call.
            function flushDriver(b_) {
                let driverShares := mload(add(b_, B_DRIVER_SHARES))
                if driverShares {
                    let offset := add(0x20, shl(5, mload(add(b_, B_MINT_COUNT))))
                    mstore(add(mload(add(b_, B_MINT_TO)), offset), mload(add(b_, B_DRIVER)))
                    mstore(add(mload(add(b_, B_MINT_AMOUNTS)), offset), driverShares)
                    mstore(add(b_, B_MINT_COUNT), add(mload(add(b_, B_MINT_COUNT)), 1))
                    mstore(add(b_, B_DRIVER_SHARES), 0)
                }
            }

            /// Makes `driver` the cached driver, writing the previous one's slot and queueing their shares first;
            /// returns the new driver's account word.
            function switchDriver(b_, driver) -> account {
                writeDriver(b_)
                flushDriver(b_)
                account := sload(mappingSlot(driver, _accounts.slot))
                mstore(add(b_, B_DRIVER), driver)
                mstore(add(b_, B_DRIVER_ACCOUNT), account)
            }

            /// Reverts SafeCastOverflowedUintDowncast(96, value), as SafeCast does.
            function revertUint96Overflow(scratch_, value) {
                mstore(scratch_, SAFE_CAST_OVERFLOWED_UINT_DOWNCAST)
                mstore(add(scratch_, 0x04), 96)
                mstore(add(scratch_, 0x24), value)
                revert(scratch_, 0x44)
            }

            // ------------------------------------------------------------ the receipt alone

            /// The signer of the digest at S_ECRECOVER_IN for the EIP-2098 compact signature (r, vs), or zero.
            /// Like OpenZeppelin's ECDSA it refuses s in the upper half order (the malleable twin of every
            /// signature). The digest stays in place for a second signature.
            function recoverSigner(scratch_, r, vs) -> signer {
                let s := and(vs, 0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff)
                if iszero(gt(s, 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0)) {
                    let input := add(scratch_, S_ECRECOVER_IN)
                    mstore(add(input, 0x20), add(shr(255, vs), 27))
                    mstore(add(input, 0x40), r)
                    mstore(add(input, 0x60), s)
                    // The precompile returns nothing for an invalid signature: clear the word it would write.
                    let output := add(input, 0x80)
                    mstore(output, 0)
                    pop(staticcall(gas(), 0x01, input, 0x80, output, 0x20))
                    signer := mload(output)
                }
            }

            /// Rules 1 and 2: 0 (None), InvalidTrip or AlreadySettled.
            function checkReceipt(b_, at_, tripId) -> reason {
                // Well-formed: a word with bits beyond its field's type is no ABI encoding of a receipt anyone
                // could have signed (the ABI decoder does not look inside `settle`'s receipts).
                let driver := calldataload(add(at_, DRIVER))
                let rider := calldataload(add(at_, RIDER))
                let distance := calldataload(add(at_, DISTANCE))
                let fare := calldataload(add(at_, FARE))
                let startTime := calldataload(add(at_, START_TIME))
                let endTime := calldataload(add(at_, END_TIME))
                if or(
                    or(or(shr(64, tripId), shr(160, driver)), or(shr(160, rider), shr(32, calldataload(add(at_, REGION_ID))))),
                    or(or(shr(32, distance), shr(96, fare)), or(shr(40, startTime), shr(40, endTime)))
                ) {
                    reason := REJECT_INVALID_TRIP
                    leave
                }

                // No driver, driver == rider, a solo receipt with a fare, no distance, startTime >= endTime, an end
                // in the future, longer than maxTripSeconds, or faster than 200 km/h on average (distance * 9 >
                // duration * 500). The fields are within their types here, so nothing overflows where it matters
                // (a wrapped duration only occurs when startTime >= endTime, which is rejected anyway).
                let duration := sub(endTime, startTime)
                if or(
                    or(or(iszero(driver), eq(driver, rider)), and(iszero(rider), iszero(iszero(fare)))),
                    or(
                        or(iszero(distance), iszero(gt(endTime, startTime))),
                        or(
                            or(gt(endTime, timestamp()), gt(duration, mload(add(b_, B_MAX_TRIP_SECONDS)))),
                            gt(mul(distance, MAX_SPEED_DENOMINATOR), mul(duration, MAX_SPEED_NUMERATOR))
                        )
                    )
                ) {
                    reason := REJECT_INVALID_TRIP
                    leave
                }

                // Replay, against the bitmap word cached in `b`.
                let word := mload(add(b_, B_WORD))
                if iszero(eq(shr(8, tripId), mload(add(b_, B_WORD_INDEX)))) { word := loadBitmapWord(b_, shr(8, tripId)) }
                if and(shr(and(tripId, 0xff), word), 1) { reason := REJECT_ALREADY_SETTLED }
            }

            // ------------------------------------------------------------ rules 4 to 10

            /// Rules 4 and 5: the region (cached in `b`) exists, the driver (cached for a run of their receipts) is a
            /// member, and the receipt suits the region's phase when the trip ended (the phase before the last
            /// switch if it ended before it). Returns the reason (0 = None), the driver's account word and the phase.
            function checkParties(b_, at_) -> reason, account, operating {
                let regionId := calldataload(add(at_, REGION_ID))
                let regionWord := mload(add(b_, B_REGION_WORD))
                if iszero(eq(regionId, mload(add(b_, B_REGION_ID)))) { regionWord := loadRegion(b_, regionId) }
                if iszero(and(shr(REGION_EXISTS_SHIFT, regionWord), 0xff)) {
                    reason := REJECT_UNKNOWN_REGION
                    leave
                }
                let driver := calldataload(add(at_, DRIVER))
                account := mload(add(b_, B_DRIVER_ACCOUNT))
                if iszero(eq(driver, mload(add(b_, B_DRIVER)))) { account := switchDriver(b_, driver) }
                if iszero(and(shr(MEMBER_SHIFT, account), 0xff)) {
                    reason := REJECT_NOT_MEMBER
                    leave
                }

                operating := iszero(iszero(and(shr(REGION_OPERATING_SHIFT, regionWord), 0xff)))
                if lt(calldataload(add(at_, END_TIME)), and(shr(REGION_PHASE_CHANGED_AT_SHIFT, regionWord), UINT40_MAX)) {
                    operating := iszero(operating)
                }
                switch operating
                case 0 { if calldataload(add(at_, FARE)) { reason := REJECT_REGION_NOT_OPERATING } }
                default { if iszero(calldataload(add(at_, RIDER))) { reason := REJECT_SOLO_IN_OPERATING_REGION } }
            }

            /// Rules 6 and 7: a shared trip needs its booking's hold, undisputed, covering the fare, and either the
            /// rider's confirmation or the dispute window over; a receipt is too old after maxReceiptAge unless a
            /// mediator decided its hold. Returns the reason (0 = None) and the hold's state (0 for a solo trip);
            /// leaves the hold's slot and word in `b` for `pay`.
            function checkHold(b_, scratch_, at_, tripId) -> reason, state {
                let endTime := calldataload(add(at_, END_TIME))
                let rider := calldataload(add(at_, RIDER))
                if rider {
                    let key := add(scratch_, S_HOLD_KEY)
                    mstore(key, tripId)
                    mstore(add(key, 0x20), calldataload(add(at_, DRIVER)))
                    mstore(add(key, 0x40), rider)
                    let holdSlot := mappingSlot(keccak256(key, 0x60), _holds.slot)
                    let hold := sload(holdSlot)
                    mstore(add(b_, B_HOLD_SLOT), holdSlot)
                    mstore(add(b_, B_HOLD), hold)
                    state := and(shr(HOLD_STATE_SHIFT, hold), 0xff)
                    if or(iszero(state), gt(endTime, and(shr(HOLD_EXPIRY_SHIFT, hold), UINT40_MAX))) {
                        reason := REJECT_NOT_AUTHORISED
                        leave
                    }
                    if eq(state, HOLD_DISPUTED) {
                        reason := REJECT_DISPUTED
                        leave
                    }
                    if eq(state, HOLD_ACTIVE) {
                        if gt(calldataload(add(at_, FARE)), and(hold, UINT96_MAX)) {
                            reason := REJECT_FARE_EXCEEDS_AUTHORISED
                            leave
                        }
                        let riderR := calldataload(add(at_, RIDER_R))
                        let riderVS := calldataload(add(at_, RIDER_VS))
                        switch or(riderR, riderVS)
                        case 0 {
                            if lt(timestamp(), add(endTime, mload(add(b_, B_DISPUTE_WINDOW)))) {
                                reason := REJECT_DISPUTE_WINDOW_OPEN
                                leave
                            }
                        }
                        default {
                            // The rider's confirmation, over the digest the driver signed (still at S_ECRECOVER_IN).
                            if iszero(eq(recoverSigner(scratch_, riderR, riderVS), rider)) {
                                reason := REJECT_BAD_RIDER_SIGNATURE
                                leave
                            }
                        }
                    }
                }
                // A mediator's decision never expires.
                if lt(state, HOLD_RESOLVED_PAID) {
                    if gt(timestamp(), add(endTime, mload(add(b_, B_MAX_RECEIPT_AGE)))) { reason := REJECT_EXPIRED }
                }
            }

            /// Rule 8, once every check passed. An active hold pays the fare (fee to the batch's treasury gain, the
            /// rest to the driver's earnings in `account`) and returns the rest to the rider's free escrow; a decided
            /// hold was paid by the mediator's decision. Either way it is cleared (the trip id goes into the bitmap,
            /// so nothing can use it again). Writes fare and fee to the event data; returns the account word and the
            /// metres that may earn shares (none after a decision of nothing).
            function pay(b_, scratch_, at_, account, state) -> result, rewardable {
                result := account
                rewardable := calldataload(add(at_, DISTANCE))
                let fare := 0
                let fee := 0
                if state {
                    sstore(mload(add(b_, B_HOLD_SLOT)), 0)
                    switch state
                    case 1 /* HOLD_ACTIVE */ {
                        fare := calldataload(add(at_, FARE))
                        let refund := sub(and(mload(add(b_, B_HOLD)), UINT96_MAX), fare)
                        if refund {
                            let escrowSlot := mappingSlot(calldataload(add(at_, RIDER)), _escrow.slot)
                            let escrowWord := sload(escrowSlot)
                            let escrowBalance := add(and(escrowWord, UINT96_MAX), refund)
                            if gt(escrowBalance, UINT96_MAX) { revertUint96Overflow(scratch_, escrowBalance) }
                            sstore(escrowSlot, or(and(escrowWord, not(UINT96_MAX)), escrowBalance))
                        }
                        if fare {
                            // fare <= maxFare < 2**96, so fare * feeBps cannot overflow.
                            fee := div(mul(fare, mload(add(b_, B_FEE_BPS))), BPS)
                            mstore(add(b_, B_TREASURY_GAIN), add(mload(add(b_, B_TREASURY_GAIN)), fee))
                            let earnings := add(and(result, UINT96_MAX), sub(fare, fee))
                            if gt(earnings, UINT96_MAX) { revertUint96Overflow(scratch_, earnings) }
                            result := or(and(result, not(UINT96_MAX)), earnings)
                        }
                    }
                    case 4 /* HOLD_RESOLVED_UNPAID */ { rewardable := 0 }
                }
                let data := add(scratch_, S_EVENT_DATA)
                mstore(data, fare)
                mstore(add(data, 0x20), fee)
            }

            /// Rule 9, the caps: the driver's daily cap (on the latest driving day the account has seen: a receipt
            /// from an earlier day counts against it, so settling out of order can never exceed the cap), then the
            /// region's cap for the receipt's own driving day (the region cached in `b` is the receipt's). Returns the
            /// account word with its counters updated and the metres rewarded.
            function capMetres(b_, account, metres, day) -> result, rewarded {
                let counterDay := and(shr(REWARD_DAY_SHIFT, account), 0xffffff)
                let rewardedToday := and(shr(REWARDED_METRES_SHIFT, account), 0xffffffff)
                if gt(day, counterDay) {
                    counterDay := day
                    rewardedToday := 0
                }
                let limit := mload(add(b_, B_DAILY_REWARDED_METRES))
                let room := 0
                if gt(limit, rewardedToday) { room := sub(limit, rewardedToday) }
                if gt(metres, room) { metres := room }

                let regionRewarded := regionDayMetres(b_, mload(add(b_, B_REGION_ID)), day)
                limit := mul(
                    and(shr(REGION_DAILY_REWARDED_KM_SHIFT, mload(add(b_, B_REGION_WORD))), 0xffffffff), METRES_PER_KM
                )
                room := 0
                if gt(limit, regionRewarded) { room := sub(limit, regionRewarded) }
                if gt(metres, room) { metres := room }
                rewarded := metres

                // rewardedToday + metres <= dailyRewardedMetres, a uint32; the day fits 24 bits (endTime is a uint40).
                result := or(
                    and(account, not(shl(REWARD_DAY_SHIFT, REWARD_COUNTERS_MASK))),
                    or(shl(REWARD_DAY_SHIFT, counterDay), shl(REWARDED_METRES_SHIFT, add(rewardedToday, metres)))
                )
                if metres {
                    mstore(add(b_, B_CAP_METRES), add(regionRewarded, metres))
                    mstore(add(b_, B_CAP_DIRTY), 1)
                }
            }

            /// Rule 9, the shares for `metres`: halving, then the hard cap; added to the batch's total minted and
            /// the driver's pending shares.
            function mintReward(b_, metres, operating) -> reward {
                // Emission.rewardPerKm: halve once per halvingInterval minted (never zero: its setter refuses 0).
                let totalMinted := mload(add(b_, B_TOTAL_MINTED))
                let rate := mload(add(b_, B_BOOTSTRAP_REWARD_PER_KM))
                if operating { rate := mload(add(b_, B_OPERATING_REWARD_PER_KM)) }
                let halvings := div(totalMinted, mload(add(b_, B_HALVING_INTERVAL)))
                switch lt(halvings, 256)
                case 0 { rate := 0 }
                default { rate := shr(halvings, rate) }
                // metres (uint32) times rate (uint96) per km, then clipped to the hard cap.
                reward := div(mul(metres, rate), METRES_PER_KM)
                let cap := mload(add(b_, B_SHARE_CAP))
                switch lt(totalMinted, cap)
                case 0 { reward := 0 }
                default { if lt(sub(cap, totalMinted), reward) { reward := sub(cap, totalMinted) } }
                // totalMinted + reward <= shareCap.
                mstore(add(b_, B_TOTAL_MINTED), add(totalMinted, reward))
                mstore(add(b_, B_DRIVER_SHARES), add(mload(add(b_, B_DRIVER_SHARES)), reward))
            }

            /// Rules 4 to 10 for a receipt that passed 1 to 3: every check before any write. On success the event
            /// data holds fare, fee and shares, and `b` the driver's updated account word. Returns the reason (0 =
            /// None).
            function applyReceipt(b_, scratch_, at_, tripId) -> reason {
                let account, operating
                reason, account, operating := checkParties(b_, at_)
                if reason { leave }
                let state
                reason, state := checkHold(b_, scratch_, at_, tripId)
                if reason { leave }

                let rewardable
                account, rewardable := pay(b_, scratch_, at_, account, state)
                let endTime := calldataload(add(at_, END_TIME))
                let reward := 0
                if rewardable {
                    account, rewardable := capMetres(b_, account, rewardable, div(endTime, SECONDS_PER_DAY))
                    if rewardable { reward := mintReward(b_, rewardable, operating) }
                }
                mstore(add(scratch_, add(S_EVENT_DATA, 0x40)), reward)

                // 10. Activity, for critical mass: the end and region of the driver's latest trip.
                if iszero(lt(endTime, and(shr(LAST_ACTIVE_AT_SHIFT, account), UINT40_MAX))) {
                    account := or(
                        and(account, not(shl(LAST_ACTIVE_AT_SHIFT, ACTIVITY_MASK))),
                        or(shl(LAST_ACTIVE_AT_SHIFT, endTime), shl(ACTIVE_REGION_SHIFT, mload(add(b_, B_REGION_ID))))
                    )
                }
                mstore(add(b_, B_DRIVER_ACCOUNT), account)
                mstore(add(b_, B_DRIVER_DIRTY), 1)
            }

            // ------------------------------------------------------------ the loop

            let scratch := mload(0x40)
            mstore(add(scratch, S_STRUCT_HASH_IN), typeHash)
            mstore(add(scratch, S_DIGEST_IN), hex"1901")
            mstore(add(scratch, add(S_DIGEST_IN, 0x02)), mload(add(b, B_DOMAIN_SEPARATOR)))
            let data := add(scratch, S_EVENT_DATA)
            let digestAt := add(mload(add(b, B_DIGESTS)), 0x20)

            for {} lt(at, end) { at := add(at, SIGNED_RECEIPT_BYTES) } {
                let tripId := calldataload(add(at, TRIP_ID))
                // The EIP-712 digest, of every receipt (the attestation covers them all): the receipt's nine static
                // fields in calldata are exactly their `abi.encode`, copied behind the type hash.
                calldatacopy(add(scratch, add(S_STRUCT_HASH_IN, 0x20)), at, RECEIPT_FIELDS_BYTES)
                mstore(
                    add(scratch, add(S_DIGEST_IN, 0x22)), keccak256(add(scratch, S_STRUCT_HASH_IN), STRUCT_HASH_INPUT_BYTES)
                )
                let digest := keccak256(add(scratch, S_DIGEST_IN), 0x42)
                mstore(digestAt, digest)
                digestAt := add(digestAt, 0x20)
                mstore(add(scratch, S_ECRECOVER_IN), digest)

                let reason := checkReceipt(b, at, tripId)
                if iszero(reason) {
                    // 3. The driver's signature.
                    let signer := recoverSigner(scratch, calldataload(add(at, DRIVER_R)), calldataload(add(at, DRIVER_VS)))
                    if iszero(eq(signer, calldataload(add(at, DRIVER)))) { reason := REJECT_BAD_DRIVER_SIGNATURE }
                }
                if iszero(reason) { reason := applyReceipt(b, scratch, at, tripId) }
                switch reason
                case 0 {
                    // 11. Mark settled in the bitmap word checkReceipt cached; emit TripSettled(tripId, fare, fee,
                    // shares) with the data applyReceipt wrote.
                    mstore(add(b, B_WORD), or(mload(add(b, B_WORD)), shl(and(tripId, 0xff), 1)))
                    mstore(add(b, B_WORD_DIRTY), 1)
                    log2(data, 0x60, TRIP_SETTLED_TOPIC, tripId)
                    settled := add(settled, 1)
                }
                default {
                    // emit TripRejected(tripId, reason)
                    mstore(data, reason)
                    log2(data, 0x20, TRIP_REJECTED_TOPIC, tripId)
                }
            }
            writeDriver(b)
            flushDriver(b)
            writeRegionDay(b)
        }
    }

    /// @dev After `_settleReceipts` (which wrote back the last driver and region-day counter): the cached bitmap
    /// word, the treasury and the batch's single `mintBatch` call.
    function _closeBatch(Batch memory b) private {
        if (b.wordDirty) _settledWords[b.wordIndex] = b.word;
        if (b.treasuryGain != 0) treasuryBalance += b.treasuryGain;
        uint256 count = b.mintCount;
        if (count != 0) {
            address[] memory to = b.mintTo;
            uint256[] memory amounts = b.mintAmounts;
            assembly ("memory-safe") {
                mstore(to, count)
                mstore(amounts, count)
            }
            shares.mintBatch(to, amounts);
        }
    }

    // ---------------------------------------------------------------- regions

    /// @inheritdoc IRideLedgerGovernance
    function addRegion(
        uint32 regionId,
        string calldata name,
        uint32 criticalMass,
        uint96 farePerKm,
        uint32 dailyRewardedKm
    ) external onlyRole(DEFAULT_ADMIN_ROLE) {
        Region storage r = _regions[regionId];
        if (r.exists) revert RegionExists(regionId);
        if (regionId == 0) revert InvalidParameter("regionId");
        r.exists = true;
        r.criticalMass = criticalMass;
        r.farePerKm = farePerKm;
        r.dailyRewardedKm = dailyRewardedKm;
        emit RegionAdded(regionId, name, criticalMass, farePerKm);
        emit RegionDailyCapSet(regionId, dailyRewardedKm);
    }

    /// @inheritdoc IRideLedgerGovernance
    function setRegionFare(uint32 regionId, uint96 farePerKm) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _existingRegion(regionId).farePerKm = farePerKm;
        emit RegionFareSet(regionId, farePerKm);
    }

    /// @inheritdoc IRideLedgerGovernance
    function setCriticalMass(uint32 regionId, uint32 criticalMass) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _existingRegion(regionId).criticalMass = criticalMass;
        emit CriticalMassSet(regionId, criticalMass);
    }

    /// @inheritdoc IRideLedgerGovernance
    function setRegionDailyCap(uint32 regionId, uint32 dailyRewardedKm) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _existingRegion(regionId).dailyRewardedKm = dailyRewardedKm;
        emit RegionDailyCapSet(regionId, dailyRewardedKm);
    }

    /// @inheritdoc IRideLedgerGovernance
    function activateRegion(uint32 regionId, address[] calldata activeDrivers) external {
        Region storage r = _existingRegion(regionId);
        if (r.operating) revert RegionAlreadyOperating(regionId);
        address previous;
        uint256 count = activeDrivers.length;
        for (uint256 i; i < count; ++i) {
            address driver = activeDrivers[i];
            // Strictly ascending: every driver counts once (and the zero address never).
            if (driver <= previous || !_isActiveDriver(driver, regionId)) revert NotActiveDriver(driver);
            previous = driver;
        }
        if (count < r.criticalMass) revert CriticalMassNotReached(regionId, count, r.criticalMass);
        _setPhase(regionId, r, true, count);
    }

    /// @inheritdoc IRideLedgerGovernance
    function setRegionPhase(uint32 regionId, bool operating) external onlyRole(DEFAULT_ADMIN_ROLE) {
        Region storage r = _existingRegion(regionId);
        if (r.operating == operating) revert RegionPhaseUnchanged(regionId, operating);
        _setPhase(regionId, r, operating, 0);
    }

    /// @inheritdoc IRideLedgerGovernance
    function isActiveDriver(address driver, uint32 regionId) external view returns (bool) {
        return _isActiveDriver(driver, regionId);
    }

    /// @inheritdoc IRideLedgerGovernance
    function regionRewardedMetres(uint32 regionId, uint256 day) external view returns (uint256) {
        return _regionDayMetres[regionId][day];
    }

    /// @inheritdoc IRideLedgerGovernance
    function region(uint32 regionId) external view returns (Region memory) {
        return _regions[regionId];
    }

    /// @inheritdoc IRideLedgerGovernance
    function quoteFare(uint32 regionId, uint32 distanceMetres) external view returns (uint256) {
        Region storage r = _regions[regionId];
        if (!r.exists) revert UnknownRegion(regionId);
        return SettlementMath.fare(distanceMetres, r.farePerKm);
    }

    function _existingRegion(uint32 regionId) private view returns (Region storage r) {
        r = _regions[regionId];
        if (!r.exists) revert UnknownRegion(regionId);
    }

    function _isActiveDriver(address driver, uint32 regionId) private view returns (bool) {
        Account storage account = _accounts[driver];
        uint256 lastActiveAt = account.lastActiveAt;
        return account.member && account.activeRegion == regionId && lastActiveAt != 0
            && block.timestamp <= lastActiveAt + ACTIVITY_WINDOW;
    }

    /// @dev Receipts that ended before `phaseChangedAt` settle under the phase before the switch.
    function _setPhase(uint32 regionId, Region storage r, bool operating, uint256 activeDrivers) private {
        r.operating = operating;
        r.phaseChangedAt = uint40(block.timestamp);
        emit RegionPhaseChanged(regionId, operating, activeDrivers);
    }

    // ---------------------------------------------------------------- parameters

    /// @inheritdoc IRideLedgerGovernance
    function setFeeBps(uint16 newFeeBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setFeeBps(newFeeBps);
    }

    /// @inheritdoc IRideLedgerGovernance
    function setRewards(uint96 newBootstrapRewardPerKm, uint96 newOperatingRewardPerKm)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        _setRewards(newBootstrapRewardPerKm, newOperatingRewardPerKm);
    }

    /// @inheritdoc IRideLedgerGovernance
    function setHalvingInterval(uint256 newHalvingInterval) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setHalvingInterval(newHalvingInterval);
    }

    /// @inheritdoc IRideLedgerGovernance
    function setDailyRewardedMetres(uint32 newDailyRewardedMetres) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setDailyRewardedMetres(newDailyRewardedMetres);
    }

    /// @inheritdoc IRideLedgerGovernance
    function setTripBounds(uint32 newMaxTripSeconds) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setTripBounds(newMaxTripSeconds);
    }

    /// @inheritdoc IRideLedgerGovernance
    function setReceiptWindows(uint32 newDisputeWindow, uint32 newMaxReceiptAge)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        _setReceiptWindows(newDisputeWindow, newMaxReceiptAge);
    }

    /// @inheritdoc IRideLedgerGovernance
    function currentRewardPerKm(bool operating) external view returns (uint256) {
        return Emission.rewardPerKm(
            operating ? operatingRewardPerKm : bootstrapRewardPerKm, shares.totalSupply(), halvingInterval
        );
    }

    function _setFeeBps(uint16 newFeeBps) private {
        if (newFeeBps > SettlementMath.BPS) revert InvalidParameter("feeBps");
        feeBps = newFeeBps;
        emit FeeBpsSet(newFeeBps);
    }

    function _setRewards(uint96 newBootstrapRewardPerKm, uint96 newOperatingRewardPerKm) private {
        bootstrapRewardPerKm = newBootstrapRewardPerKm;
        operatingRewardPerKm = newOperatingRewardPerKm;
        emit RewardsSet(newBootstrapRewardPerKm, newOperatingRewardPerKm);
    }

    function _setHalvingInterval(uint256 newHalvingInterval) private {
        if (newHalvingInterval == 0) revert InvalidParameter("halvingInterval");
        halvingInterval = newHalvingInterval;
        emit HalvingIntervalSet(newHalvingInterval);
    }

    function _setDailyRewardedMetres(uint32 newDailyRewardedMetres) private {
        dailyRewardedMetres = newDailyRewardedMetres;
        emit DailyRewardedMetresSet(newDailyRewardedMetres);
    }

    function _setTripBounds(uint32 newMaxTripSeconds) private {
        if (newMaxTripSeconds == 0) revert InvalidParameter("maxTripSeconds");
        maxTripSeconds = newMaxTripSeconds;
        emit TripBoundsSet(newMaxTripSeconds);
    }

    function _setReceiptWindows(uint32 newDisputeWindow, uint32 newMaxReceiptAge) private {
        if (newDisputeWindow >= newMaxReceiptAge) revert InvalidParameter("disputeWindow");
        disputeWindow = newDisputeWindow;
        maxReceiptAge = newMaxReceiptAge;
        emit ReceiptWindowsSet(newDisputeWindow, newMaxReceiptAge);
    }

    // ---------------------------------------------------------------- treasury

    /// @inheritdoc IRideLedgerGovernance
    function spendTreasury(address to, uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        _debitTreasury(amount);
        fareToken.safeTransfer(to, amount);
        emit TreasurySpent(to, amount);
    }

    /// @inheritdoc IRideLedgerGovernance
    function distributeSurplus(uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) nonReentrant {
        _debitTreasury(amount);
        fareToken.forceApprove(address(shares), amount);
        shares.distribute(amount);
        emit SurplusSentToShareholders(amount);
    }

    function _debitTreasury(uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        uint256 available = treasuryBalance;
        if (available < amount) revert TreasuryInsufficient(available, amount);
        treasuryBalance = available - amount;
    }

    // ---------------------------------------------------------------- emergency

    /// @dev Whether the current pause was made (or taken over) by governance: then only governance lifts it.
    bool private _pausedByGovernance;

    /// @inheritdoc IRideLedgerGovernance
    function pause() external {
        bool governance = hasRole(DEFAULT_ADMIN_ROLE, msg.sender);
        if (!governance && !hasRole(GUARDIAN_ROLE, msg.sender)) {
            revert AccessControlUnauthorizedAccount(msg.sender, GUARDIAN_ROLE);
        }
        if (governance && paused() && !_pausedByGovernance) {
            // Governance keeps a guardian's pause: from now on only governance lifts it.
            _pausedByGovernance = true;
            emit PauseTakenOverByGovernance(msg.sender);
            return;
        }
        _pausedByGovernance = governance;
        _pause();
    }

    /// @inheritdoc IRideLedgerGovernance
    function unpause() external {
        if (!hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            if (!hasRole(GUARDIAN_ROLE, msg.sender)) revert AccessControlUnauthorizedAccount(msg.sender, GUARDIAN_ROLE);
            if (_pausedByGovernance) revert PausedByGovernance();
        }
        _pausedByGovernance = false;
        _unpause();
    }

    /// @inheritdoc IRideLedgerGovernance
    function pausedByGovernance() external view returns (bool) {
        return _pausedByGovernance;
    }
}
