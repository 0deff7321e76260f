// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IMembershipObserver} from "./interfaces/IMembershipObserver.sol";
import {ICoopShareMinter} from "./interfaces/ICoopShareMinter.sol";
import {IRideLedgerRider} from "./interfaces/IRideLedgerRider.sol";
import {IRideLedgerSettler} from "./interfaces/IRideLedgerSettler.sol";
import {IRideLedgerGovernance} from "./interfaces/IRideLedgerGovernance.sol";
import {ReceiptHashing} from "./libraries/ReceiptHashing.sol";
import {Emission} from "./libraries/Emission.sol";
import {SettlementMath} from "./libraries/SettlementMath.sol";

/// @title RideLedger
/// @notice Regions and their phases, fare escrow, batched settlement of co-signed trip receipts, share rewards
/// with halving, and the cooperative's treasury.
/// @dev Admin (DEFAULT_ADMIN_ROLE) is the Timelock. Settlement is built for gas: one storage slot per account
/// (escrow, earnings, daily reward counter and the member flag), settled trip ids in a bitmap, one write per run of
/// receipts of the same driver, and one `mintBatch` call per batch.
contract RideLedger is
    AccessControl,
    Pausable,
    ReentrancyGuard,
    EIP712,
    IMembershipObserver,
    IRideLedgerRider,
    IRideLedgerSettler,
    IRideLedgerGovernance
{
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    bytes32 public constant SETTLER_ROLE = keccak256("SETTLER_ROLE");
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");

    /// @notice One slot per account: a rider's debit is one storage write, the member check is free.
    struct Account {
        uint96 escrow;
        uint96 earnings;
        uint24 rewardDay;
        uint32 rewardedMetresToday;
        bool member;
    }

    /// @dev What `settle` keeps in memory between receipts: parameters read once, and cached storage words (the
    /// bitmap word, the last region, the current driver's packed account) written back once per word, run or batch.
    struct Batch {
        bytes32 domainSeparator;
        uint256 day;
        uint256 feeBps;
        uint256 bootstrapRewardPerKm;
        uint256 operatingRewardPerKm;
        uint256 dailyRewardedMetres;
        uint256 halvingInterval;
        uint256 totalMinted;
        uint256 shareCap;
        uint256 treasuryGain;
        uint256 wordIndex;
        uint256 word;
        bool wordDirty;
        uint256 regionId;
        uint256 regionWord;
        address driver;
        uint256 driverAccount;
        bool driverDirty;
        uint256 driverShares;
        address[] mintTo;
        uint256[] mintAmounts;
        uint256 mintCount;
    }

    /// @dev Bit offsets of the packed `Account` and `Region` words (Solidity packs struct members from the low bits).
    uint256 private constant EARNINGS_SHIFT = 96;
    uint256 private constant REWARD_DAY_SHIFT = 192;
    uint256 private constant REWARDED_METRES_SHIFT = 216;
    uint256 private constant MEMBER_SHIFT = 248;
    /// @dev rewardDay (24 bits) and rewardedMetresToday (32 bits), from REWARD_DAY_SHIFT.
    uint256 private constant REWARD_COUNTERS_MASK = (1 << 56) - 1;
    uint256 private constant REGION_OPERATING_SHIFT = 160;
    uint256 private constant REGION_EXISTS_SHIFT = 168;

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
    /// declaration order. Keep in step with `Batch`.
    uint256 private constant B_DOMAIN_SEPARATOR = 0x000;
    uint256 private constant B_DAY = 0x020;
    uint256 private constant B_FEE_BPS = 0x040;
    uint256 private constant B_BOOTSTRAP_REWARD_PER_KM = 0x060;
    uint256 private constant B_OPERATING_REWARD_PER_KM = 0x080;
    uint256 private constant B_DAILY_REWARDED_METRES = 0x0a0;
    uint256 private constant B_HALVING_INTERVAL = 0x0c0;
    uint256 private constant B_TOTAL_MINTED = 0x0e0;
    uint256 private constant B_SHARE_CAP = 0x100;
    uint256 private constant B_TREASURY_GAIN = 0x120;
    uint256 private constant B_WORD_INDEX = 0x140;
    uint256 private constant B_WORD = 0x160;
    uint256 private constant B_WORD_DIRTY = 0x180;
    uint256 private constant B_REGION_ID = 0x1a0;
    uint256 private constant B_REGION_WORD = 0x1c0;
    uint256 private constant B_DRIVER = 0x1e0;
    uint256 private constant B_DRIVER_ACCOUNT = 0x200;
    uint256 private constant B_DRIVER_DIRTY = 0x220;
    uint256 private constant B_DRIVER_SHARES = 0x240;
    uint256 private constant B_MINT_TO = 0x260;
    uint256 private constant B_MINT_AMOUNTS = 0x280;
    uint256 private constant B_MINT_COUNT = 0x2a0;

    /// @dev `_settleReceipts`' scratch memory past the free pointer (layout in its NatSpec).
    uint256 private constant S_STRUCT_HASH_IN = 0x000;
    uint256 private constant S_DIGEST_IN = 0x140;
    uint256 private constant S_ECRECOVER_IN = 0x1a0;
    uint256 private constant S_ECRECOVER_OUT = 0x220;
    uint256 private constant S_EVENT_DATA = 0x240;
    /// @dev A receipt's nine fields (ReceiptHashing.RECEIPT_BYTES), and behind the type hash.
    uint256 private constant RECEIPT_FIELDS_BYTES = 0x120;
    uint256 private constant STRUCT_HASH_INPUT_BYTES = 0x140;

    /// @dev `RejectReason` values, for the assembly loop.
    uint256 private constant REJECT_ALREADY_SETTLED = 1;
    uint256 private constant REJECT_BAD_DRIVER_SIGNATURE = 2;
    uint256 private constant REJECT_BAD_RIDER_SIGNATURE = 3;
    uint256 private constant REJECT_NOT_MEMBER = 4;
    uint256 private constant REJECT_UNKNOWN_REGION = 5;
    uint256 private constant REJECT_REGION_NOT_OPERATING = 6;
    uint256 private constant REJECT_FARE_EXCEEDS_SIGNED = 7;
    uint256 private constant REJECT_RIDER_UNDERFUNDED = 8;
    uint256 private constant REJECT_INVALID_TRIP = 9;

    /// @dev keccak256("TripSettled(uint256,uint256,uint256,uint256)") and keccak256("TripRejected(uint256,uint8)")
    /// (inline assembly takes literal constants only; the constructor checks them against the events' selectors).
    uint256 private constant TRIP_SETTLED_TOPIC = 0x75e06cb987d4218ad161bbaf87511f1d3d32475e5386835c11332a93dcad0d91;
    uint256 private constant TRIP_REJECTED_TOPIC = 0x8b7e69ffc53b428ca4eb221df0b36970e63f1463fbaf9458161051bda99f1a7a;
    /// @dev SafeCast.SafeCastOverflowedUintDowncast.selector, left-aligned in a word.
    uint256 private constant SAFE_CAST_OVERFLOWED_UINT_DOWNCAST = 0x6dfcc650 << 224;
    uint256 private constant UINT96_MAX = (1 << 96) - 1;
    /// @dev SettlementMath's constants, for the assembly loop.
    uint256 private constant METRES_PER_KM = 1000;
    uint256 private constant BPS = 10_000;
    uint256 private constant MAX_SPEED_NUMERATOR = 500;
    uint256 private constant MAX_SPEED_DENOMINATOR = 9;

    IERC20 public immutable fareToken;
    address public immutable membership;
    ICoopShareMinter public immutable shares;

    uint16 public feeBps;
    uint96 public bootstrapRewardPerKm;
    uint96 public operatingRewardPerKm;
    uint32 public dailyRewardedMetres;
    uint256 public halvingInterval;
    uint256 public treasuryBalance;

    mapping(address account => Account) private _accounts;
    mapping(uint32 regionId => Region) private _regions;
    mapping(uint256 wordIndex => uint256) private _settledWords;

    /// @param fareToken_ The ERC-20 fares are paid in.
    /// @param membership_ The Membership contract (the only caller of the membership hooks).
    /// @param shares_ The CoopShare contract this ledger mints.
    /// @param admin The initial admin (the deployer hands it to the Timelock).
    /// @param feeBps_ Cooperative fee in basis points.
    /// @param bootstrapRewardPerKm_ Shares per km in bootstrap regions.
    /// @param operatingRewardPerKm_ Shares per shared km in operating regions.
    /// @param halvingInterval_ Minted shares per halving of the reward rate.
    /// @param dailyRewardedMetres_ Rewarded metres per driver per UTC day.
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
                && RECEIPT_FIELDS_BYTES == ReceiptHashing.RECEIPT_BYTES
        );
        if (address(fareToken_) == address(0) || membership_ == address(0) || address(shares_) == address(0)) {
            revert ZeroAddress();
        }
        fareToken = fareToken_;
        membership = membership_;
        shares = shares_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setFeeBps(feeBps_);
        _setRewards(bootstrapRewardPerKm_, operatingRewardPerKm_);
        _setHalvingInterval(halvingInterval_);
        _setDailyRewardedMetres(dailyRewardedMetres_);
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
        // A front-run permit (same signature relayed by someone else first) must not block the deposit.
        try IERC20Permit(address(fareToken)).permit(rider, address(this), amount, deadline, v, r, s) {} catch {}
        _deposit(rider, amount);
    }

    /// @inheritdoc IRideLedgerRider
    function withdrawEscrow(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Account storage account = _accounts[msg.sender];
        uint256 available = account.escrow;
        if (available < amount) revert InsufficientBalance(msg.sender, available, amount);
        account.escrow = uint96(available - amount);
        fareToken.safeTransfer(msg.sender, amount);
        emit EscrowWithdrawn(msg.sender, amount);
    }

    /// @inheritdoc IRideLedgerRider
    function withdrawEarnings(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Account storage account = _accounts[msg.sender];
        uint256 available = account.earnings;
        if (available < amount) revert InsufficientBalance(msg.sender, available, amount);
        account.earnings = uint96(available - amount);
        fareToken.safeTransfer(msg.sender, amount);
        emit EarningsWithdrawn(msg.sender, amount);
    }

    /// @inheritdoc IRideLedgerRider
    function escrowOf(address account) external view returns (uint256) {
        return _accounts[account].escrow;
    }

    /// @inheritdoc IRideLedgerRider
    function earningsOf(address account) external view returns (uint256) {
        return _accounts[account].earnings;
    }

    /// @notice Whether `account` is a member, as the ledger records it.
    function isMember(address account) external view returns (bool) {
        return _accounts[account].member;
    }

    /// @notice The metres `driver` has been rewarded for on UTC day `rewardDay` (the last day they earned shares).
    function rewardedMetres(address driver) external view returns (uint256 rewardDay, uint256 metres) {
        Account storage account = _accounts[driver];
        return (account.rewardDay, account.rewardedMetresToday);
    }

    function _deposit(address rider, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        Account storage account = _accounts[rider];
        if (!account.member) revert NotMember(rider);
        account.escrow = (account.escrow + amount).toUint96();
        fareToken.safeTransferFrom(rider, address(this), amount);
        emit EscrowDeposited(rider, amount);
    }

    // ---------------------------------------------------------------- settlement

    /// @inheritdoc IRideLedgerSettler
    function settle(bytes32 batchId, SignedReceipt[] calldata receipts)
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
        settled = _settleReceipts(b, at, end, ReceiptHashing.TRIP_RECEIPT_TYPEHASH);
        _closeBatch(b);
        emit BatchSettled(batchId, settled, receipts.length - settled);
    }

    /// @inheritdoc IRideLedgerSettler
    function isSettled(uint256 tripId) external view returns (bool) {
        return _settledWords[tripId >> 8] & (1 << (tripId & 0xff)) != 0;
    }

    /// @inheritdoc IRideLedgerSettler
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    function _openBatch(uint256 size) private view returns (Batch memory b) {
        b.domainSeparator = _domainSeparatorV4();
        b.day = block.timestamp / 1 days;
        b.feeBps = feeBps;
        b.bootstrapRewardPerKm = bootstrapRewardPerKm;
        b.operatingRewardPerKm = operatingRewardPerKm;
        b.dailyRewardedMetres = dailyRewardedMetres;
        b.halvingInterval = halvingInterval;
        b.totalMinted = shares.totalSupply();
        b.shareCap = shares.cap();
        b.wordIndex = NO_WORD;
        b.mintTo = new address[](size);
        b.mintAmounts = new uint256[](size);
    }

    /// @dev Settles every signed receipt in calldata [at, end): each either settles (`TripSettled`) or is rejected
    /// (`TripRejected`, nothing written). Checks, in order: well-formed words, replay, plausibility, signatures,
    /// region, driver membership, fare, rider membership and funds. On return the cached driver is written back
    /// and their shares queued; `_closeBatch` writes the rest of `b`.
    ///
    /// One assembly block, so that a receipt costs no Solidity call frames, checked arithmetic or cleanups; its Yul
    /// functions mirror the rules one by one. Running state lives in `b` (fields at the B_* offsets) and the
    /// receipt's words are read from calldata where they are. Nothing is allocated during the loop, so the memory
    /// past the free pointer serves as scratch (offsets from `scratch`, see the S_* constants):
    ///   S_STRUCT_HASH_IN  0x000  typeHash, then the receipt's nine words     keccak256 over 0x140 bytes
    ///   S_DIGEST_IN       0x140  0x1901 . domainSeparator . structHash      keccak256 over 0x42 bytes
    ///   S_ECRECOVER_IN    0x1a0  digest, v, r, s                            the precompile's input
    ///   S_ECRECOVER_OUT   0x220  the recovered signer (cleared before each call)
    ///   S_EVENT_DATA      0x240  fare, fee, shares / reason                 the log's data
    /// The typeHash and the digest's prefix and domain separator are written once per batch; the digest is written
    /// once per receipt and serves both signatures.
    function _settleReceipts(Batch memory b, uint256 at, uint256 end, bytes32 typeHash)
        private
        returns (uint256 settled)
    {
        assembly ("memory-safe") {
            // ------------------------------------------------------------ cold paths (a miss of a cache in `b`)

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

            /// Reverts SafeCastOverflowedUintDowncast(96, earnings), as SafeCast does.
            function revertEarningsOverflow(scratch_, earnings) {
                mstore(scratch_, SAFE_CAST_OVERFLOWED_UINT_DOWNCAST)
                mstore(add(scratch_, 0x04), 96)
                mstore(add(scratch_, 0x24), earnings)
                revert(scratch_, 0x44)
            }

            // ------------------------------------------------------------ the receipt alone

            /// The signer of the digest at S_ECRECOVER_IN for the EIP-2098 compact signature (r, vs), or zero.
            /// Like OpenZeppelin's ECDSA it refuses s in the upper half order (the malleable twin of every
            /// signature).
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

            /// Encoding, replay, plausibility and both signatures (driver and rider sign the same digest); 0 (None)
            /// or the RejectReason.
            function checkReceipt(b_, scratch_, at_, tripId) -> reason {
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

                // Replay, against the bitmap word cached in `b`.
                let word := mload(add(b_, B_WORD))
                if iszero(eq(shr(8, tripId), mload(add(b_, B_WORD_INDEX)))) { word := loadBitmapWord(b_, shr(8, tripId)) }
                if and(shr(and(tripId, 0xff), word), 1) {
                    reason := REJECT_ALREADY_SETTLED
                    leave
                }

                // Invalid: no driver, driver == rider, a solo receipt with a fare, or implausible
                // (SettlementMath.isPlausible: some distance, startTime < endTime <= now, distance * 9 <= duration
                // * 500, i.e. at most 200 km/h; the fields are within their types here).
                if or(
                    or(or(iszero(driver), eq(driver, rider)), and(iszero(rider), iszero(iszero(fare)))),
                    or(
                        or(iszero(distance), iszero(gt(endTime, startTime))),
                        or(
                            gt(endTime, timestamp()),
                            gt(mul(distance, MAX_SPEED_DENOMINATOR), mul(sub(endTime, startTime), MAX_SPEED_NUMERATOR))
                        )
                    )
                ) {
                    reason := REJECT_INVALID_TRIP
                    leave
                }

                // The EIP-712 digest to S_ECRECOVER_IN: the receipt's nine static fields in calldata are exactly
                // their `abi.encode`, copied behind the type hash.
                calldatacopy(add(scratch_, add(S_STRUCT_HASH_IN, 0x20)), at_, RECEIPT_FIELDS_BYTES)
                mstore(
                    add(scratch_, add(S_DIGEST_IN, 0x22)), keccak256(add(scratch_, S_STRUCT_HASH_IN), STRUCT_HASH_INPUT_BYTES)
                )
                mstore(add(scratch_, S_ECRECOVER_IN), keccak256(add(scratch_, S_DIGEST_IN), 0x42))

                if iszero(eq(recoverSigner(scratch_, calldataload(add(at_, DRIVER_R)), calldataload(add(at_, DRIVER_VS))), driver)) {
                    reason := REJECT_BAD_DRIVER_SIGNATURE
                    leave
                }
                if rider {
                    if iszero(eq(recoverSigner(scratch_, calldataload(add(at_, RIDER_R)), calldataload(add(at_, RIDER_VS))), rider)) {
                        reason := REJECT_BAD_RIDER_SIGNATURE
                    }
                }
            }

            // ------------------------------------------------------------ region, accounts, rewards

            /// Daily cap, halving and the hard cap, in that order; the trip settles whatever the reward. Returns
            /// the driver's account word with its reward counters updated, and the reward (added to the batch's
            /// total minted and the driver's pending shares).
            function rewardDriver(b_, account, metres, operating) -> result, reward {
                let day := mload(add(b_, B_DAY))
                let rewardedToday := 0
                if eq(and(shr(REWARD_DAY_SHIFT, account), 0xffffff), day) {
                    rewardedToday := and(shr(REWARDED_METRES_SHIFT, account), 0xffffffff)
                }
                let limit := mload(add(b_, B_DAILY_REWARDED_METRES))
                let room := 0
                if gt(limit, rewardedToday) { room := sub(limit, rewardedToday) }
                if gt(metres, room) { metres := room }
                // rewardedToday + metres <= dailyRewardedMetres, a uint32; the day fits 24 bits for 45,000 years.
                result := or(
                    or(and(account, not(shl(REWARD_DAY_SHIFT, REWARD_COUNTERS_MASK))), shl(REWARD_DAY_SHIFT, day)),
                    shl(REWARDED_METRES_SHIFT, add(rewardedToday, metres))
                )
                if iszero(metres) { leave }

                // Emission.rewardPerKm: halve once per halvingInterval minted (never zero: its setter refuses 0).
                let totalMinted := mload(add(b_, B_TOTAL_MINTED))
                let rate := mload(add(b_, B_BOOTSTRAP_REWARD_PER_KM))
                if operating { rate := mload(add(b_, B_OPERATING_REWARD_PER_KM)) }
                let halvings := div(totalMinted, mload(add(b_, B_HALVING_INTERVAL)))
                switch lt(halvings, 256)
                case 0 { rate := 0 }
                default { rate := shr(halvings, rate) }
                // SettlementMath.reward (uint32 metres times uint96 rate), then Emission.clipToCap.
                reward := div(mul(metres, rate), METRES_PER_KM)
                let cap := mload(add(b_, B_SHARE_CAP))
                switch lt(totalMinted, cap)
                case 0 { reward := 0 }
                default { if lt(sub(cap, totalMinted), reward) { reward := sub(cap, totalMinted) } }
                // totalMinted + reward <= shareCap.
                mstore(add(b_, B_TOTAL_MINTED), add(totalMinted, reward))
                mstore(add(b_, B_DRIVER_SHARES), add(mload(add(b_, B_DRIVER_SHARES)), reward))
            }

            /// Region, membership, fare and funds; on success debits the rider and credits the cached driver and
            /// the batch's treasury gain. Returns 0 (None) and the amounts, or the RejectReason.
            function applyReceipt(b_, scratch_, at_) -> reason, fare, fee, reward {
                // The region, from the one cached in `b`.
                let regionId := calldataload(add(at_, REGION_ID))
                let regionPacked := mload(add(b_, B_REGION_WORD))
                if iszero(eq(regionId, mload(add(b_, B_REGION_ID)))) { regionPacked := loadRegion(b_, regionId) }
                if iszero(and(shr(REGION_EXISTS_SHIFT, regionPacked), 0xff)) {
                    reason := REJECT_UNKNOWN_REGION
                    leave
                }
                let operating := iszero(iszero(and(shr(REGION_OPERATING_SHIFT, regionPacked), 0xff)))

                // The driver's account, cached in `b` for a run of their receipts.
                let driver := calldataload(add(at_, DRIVER))
                let account := mload(add(b_, B_DRIVER_ACCOUNT))
                if iszero(eq(driver, mload(add(b_, B_DRIVER)))) { account := switchDriver(b_, driver) }
                if iszero(shr(MEMBER_SHIFT, account)) {
                    reason := REJECT_NOT_MEMBER
                    leave
                }

                let rider := calldataload(add(at_, RIDER))
                let distance := calldataload(add(at_, DISTANCE))
                switch operating
                case 0 {
                    if calldataload(add(at_, FARE)) {
                        reason := REJECT_REGION_NOT_OPERATING
                        leave
                    }
                }
                default {
                    if rider {
                        // SettlementMath.fare: uint32 distance times uint96 farePerKm.
                        fare := div(mul(distance, and(regionPacked, UINT96_MAX)), METRES_PER_KM)
                        if gt(fare, calldataload(add(at_, FARE))) {
                            reason := REJECT_FARE_EXCEEDS_SIGNED
                            fare := 0
                            leave
                        }
                    }
                }
                if rider {
                    // Debit the rider straight in storage: the cached driver is this receipt's driver and
                    // driver == rider is invalid, so the rider's slot is never the cached one.
                    let slot := mappingSlot(rider, _accounts.slot)
                    let riderAccount := sload(slot)
                    if iszero(shr(MEMBER_SHIFT, riderAccount)) {
                        reason := REJECT_NOT_MEMBER
                        fare := 0
                        leave
                    }
                    if lt(and(riderAccount, UINT96_MAX), fare) {
                        reason := REJECT_RIDER_UNDERFUNDED
                        fare := 0
                        leave
                    }
                    // escrow is the low 96 bits and fare <= escrow: subtracting from the word touches nothing else.
                    if fare { sstore(slot, sub(riderAccount, fare)) }
                }

                if fare {
                    // SettlementMath.fee; each fee is below 2**128 and a batch holds far fewer than 2**128 receipts.
                    fee := div(mul(fare, mload(add(b_, B_FEE_BPS))), BPS)
                    mstore(add(b_, B_TREASURY_GAIN), add(mload(add(b_, B_TREASURY_GAIN)), fee))
                    // The driver's earnings (bits 96..191) plus fare - fee, within uint96 as SafeCast requires.
                    let earnings := add(and(shr(EARNINGS_SHIFT, account), UINT96_MAX), sub(fare, fee))
                    if gt(earnings, UINT96_MAX) { revertEarningsOverflow(scratch_, earnings) }
                    account := or(and(account, not(shl(EARNINGS_SHIFT, UINT96_MAX))), shl(EARNINGS_SHIFT, earnings))
                }
                // Bootstrap rewards every verified km; operating rewards shared km only.
                if or(iszero(operating), iszero(iszero(rider))) {
                    account, reward := rewardDriver(b_, account, distance, operating)
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

            for {} lt(at, end) { at := add(at, SIGNED_RECEIPT_BYTES) } {
                let tripId := calldataload(add(at, TRIP_ID))
                let reason := checkReceipt(b, scratch, at, tripId)
                if iszero(reason) {
                    let fare, fee, reward
                    reason, fare, fee, reward := applyReceipt(b, scratch, at)
                    if iszero(reason) {
                        // Mark settled in the bitmap word checkReceipt cached.
                        mstore(add(b, B_WORD), or(mload(add(b, B_WORD)), shl(and(tripId, 0xff), 1)))
                        mstore(add(b, B_WORD_DIRTY), 1)
                        // emit TripSettled(tripId, fare, fee, reward)
                        mstore(data, fare)
                        mstore(add(data, 0x20), fee)
                        mstore(add(data, 0x40), reward)
                        log2(data, 0x60, TRIP_SETTLED_TOPIC, tripId)
                        settled := add(settled, 1)
                    }
                }
                if reason {
                    // emit TripRejected(tripId, reason)
                    mstore(data, reason)
                    log2(data, 0x20, TRIP_REJECTED_TOPIC, tripId)
                }
            }
            writeDriver(b)
            flushDriver(b)
        }
    }

    /// @dev After `_settleReceipts` (which wrote back the last driver): the cached bitmap word, the treasury and
    /// the batch's single `mintBatch` call.
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
    function addRegion(uint32 regionId, string calldata name, uint32 criticalMass, uint96 farePerKm)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        Region storage r = _regions[regionId];
        if (r.exists) revert RegionExists(regionId);
        if (regionId == 0) revert InvalidParameter("regionId");
        r.exists = true;
        r.criticalMass = criticalMass;
        r.farePerKm = farePerKm;
        emit RegionAdded(regionId, name, criticalMass, farePerKm);
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
    function activateRegion(uint32 regionId) external {
        Region storage r = _existingRegion(regionId);
        if (r.operating) revert RegionAlreadyOperating(regionId);
        if (r.members < r.criticalMass) revert CriticalMassNotReached(regionId, r.members, r.criticalMass);
        r.operating = true;
        emit RegionActivated(regionId, r.members);
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
