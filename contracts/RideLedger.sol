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
    /// @param membership_ The Membership contract (the only caller of `onMembershipChanged`).
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

    // ---------------------------------------------------------------- membership hook

    /// @inheritdoc IMembershipObserver
    function onMembershipChanged(address member, uint32 regionId, bool joined, uint256 joiningFee) external {
        if (msg.sender != membership) revert OnlyMembership(msg.sender);
        Region storage r = _regions[regionId];
        if (!r.exists) revert UnknownRegion(regionId);
        _accounts[member].member = joined;
        uint32 members = joined ? r.members + 1 : r.members - 1;
        r.members = members;
        emit RegionMembersChanged(regionId, member, joined, members);
        if (joined && joiningFee != 0) {
            treasuryBalance += joiningFee;
            fareToken.safeTransferFrom(member, address(this), joiningFee);
            emit JoiningFeeCollected(member, joiningFee);
        }
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
        unchecked {
            for (; at < end; at += SIGNED_RECEIPT_BYTES) {
                if (_settleReceipt(b, at)) ++settled;
            }
        }
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

    /// @dev Settles the signed receipt at calldata offset `at` and emits `TripSettled`, or emits `TripRejected` and
    /// writes nothing. Checks, in order: well-formed words, replay, plausibility, signatures, region, driver
    /// membership, fare, rider membership and funds.
    function _settleReceipt(Batch memory b, uint256 at) private returns (bool) {
        uint256 tripId = _word(at, TRIP_ID);
        RejectReason reason = _checkReceipt(b, at, tripId);
        if (reason == RejectReason.None) {
            uint256 fare;
            uint256 fee;
            uint256 reward;
            (reason, fare, fee, reward) = _applyReceipt(b, at);
            if (reason == RejectReason.None) {
                _markSettled(b, tripId);
                emit TripSettled(tripId, fare, fee, reward);
                return true;
            }
        }
        emit TripRejected(tripId, reason);
        return false;
    }

    /// @dev Everything that depends on the receipt alone: its encoding, replay, plausibility and both signatures
    /// (driver and rider sign the same digest).
    function _checkReceipt(Batch memory b, uint256 at, uint256 tripId) private returns (RejectReason) {
        // A word with bits beyond its field's type is no ABI encoding of a receipt anyone could have signed.
        if (!_isWellFormed(at)) return RejectReason.InvalidTrip;
        if (_isSettledInBatch(b, tripId)) return RejectReason.AlreadySettled;

        address driver = address(uint160(_word(at, DRIVER)));
        address rider = address(uint160(_word(at, RIDER)));
        if (
            driver == address(0) || driver == rider || (rider == address(0) && _word(at, FARE) != 0)
                || !SettlementMath.isPlausible(
                    uint32(_word(at, DISTANCE)), uint40(_word(at, START_TIME)), uint40(_word(at, END_TIME)), block.timestamp
                )
        ) return RejectReason.InvalidTrip;

        bytes32 digest = ReceiptHashing.digest(b.domainSeparator, at);
        if (_recover(digest, _word(at, DRIVER_R), _word(at, DRIVER_VS)) != driver) {
            return RejectReason.BadDriverSignature;
        }
        if (rider != address(0) && _recover(digest, _word(at, RIDER_R), _word(at, RIDER_VS)) != rider) {
            return RejectReason.BadRiderSignature;
        }
        return RejectReason.None;
    }

    /// @dev Region, membership, fare and funds; on success debits the rider and credits the cached driver and the
    /// batch's treasury gain.
    function _applyReceipt(Batch memory b, uint256 at)
        private
        returns (RejectReason reason, uint256 fare, uint256 fee, uint256 reward)
    {
        (uint256 farePerKm, bool operating, bool exists) = _region(b, _word(at, REGION_ID));
        if (!exists) return (RejectReason.UnknownRegion, 0, 0, 0);

        _useDriver(b, address(uint160(_word(at, DRIVER))));
        if (b.driverAccount >> MEMBER_SHIFT == 0) return (RejectReason.NotMember, 0, 0, 0);

        address rider = address(uint160(_word(at, RIDER)));
        uint256 distance = _word(at, DISTANCE);
        if (!operating) {
            if (_word(at, FARE) != 0) return (RejectReason.RegionNotOperating, 0, 0, 0);
        } else if (rider != address(0)) {
            fare = SettlementMath.fare(uint32(distance), uint96(farePerKm));
            if (fare > _word(at, FARE)) return (RejectReason.FareExceedsSigned, 0, 0, 0);
        }
        if (rider != address(0)) {
            reason = _debitRider(rider, fare);
            if (reason != RejectReason.None) return (reason, 0, 0, 0);
        }

        uint256 account = b.driverAccount;
        if (fare != 0) {
            fee = SettlementMath.fee(uint128(fare), uint16(b.feeBps));
            unchecked {
                // Each fee is below 2**128 and a batch holds far fewer than 2**128 receipts.
                b.treasuryGain += fee;
            }
            account = _addEarnings(account, fare - fee);
        }
        // Bootstrap rewards every verified km; operating rewards shared km only.
        if (!operating || rider != address(0)) {
            (account, reward) = _reward(b, account, distance, operating);
        }
        b.driverAccount = account;
        b.driverDirty = true;
    }

    /// @dev The cached driver is this receipt's driver and driver == rider is invalid, so the rider's slot is
    /// never the cached one: writing it straight to storage cannot be lost in the driver's later flush.
    function _debitRider(address rider, uint256 fare) private returns (RejectReason) {
        uint256 slot = _accountSlot(rider);
        uint256 packed;
        assembly ("memory-safe") {
            packed := sload(slot)
        }
        if (packed >> MEMBER_SHIFT == 0) return RejectReason.NotMember;
        if (uint96(packed) < fare) return RejectReason.RiderUnderfunded;
        if (fare != 0) {
            // escrow is the low 96 bits and fare <= escrow: subtracting from the word touches nothing else.
            assembly ("memory-safe") {
                sstore(slot, sub(packed, fare))
            }
        }
        return RejectReason.None;
    }

    /// @dev Daily cap, halving and the hard cap, in that order; the trip settles whatever the reward. Returns the
    /// driver's account word with its reward counters updated.
    function _reward(Batch memory b, uint256 account, uint256 metres, bool operating)
        private
        pure
        returns (uint256, uint256 reward)
    {
        uint256 day = b.day;
        uint256 rewardedToday =
            uint24(account >> REWARD_DAY_SHIFT) == day ? uint32(account >> REWARDED_METRES_SHIFT) : 0;
        uint256 limit = b.dailyRewardedMetres;
        uint256 room;
        unchecked {
            room = limit > rewardedToday ? limit - rewardedToday : 0;
        }
        if (metres > room) metres = room;
        // rewardedToday + metres <= dailyRewardedMetres, a uint32; the day fits 24 bits for 45,000 years.
        account = (account & ~(REWARD_COUNTERS_MASK << REWARD_DAY_SHIFT)) | (day << REWARD_DAY_SHIFT)
            | ((rewardedToday + metres) << REWARDED_METRES_SHIFT);
        if (metres == 0) return (account, 0);

        uint256 rate = Emission.rewardPerKm(
            operating ? b.operatingRewardPerKm : b.bootstrapRewardPerKm, b.totalMinted, b.halvingInterval
        );
        reward = Emission.clipToCap(SettlementMath.reward(uint32(metres), uint96(rate)), b.totalMinted, b.shareCap);
        unchecked {
            // clipToCap keeps totalMinted + reward <= shareCap.
            b.totalMinted += reward;
            b.driverShares += reward;
        }
        return (account, reward);
    }

    function _addEarnings(uint256 account, uint256 amount) private pure returns (uint256) {
        uint256 earnings = uint96(account >> EARNINGS_SHIFT) + amount;
        if (earnings > type(uint96).max) revert SafeCast.SafeCastOverflowedUintDowncast(96, earnings);
        return (account & ~(uint256(type(uint96).max) << EARNINGS_SHIFT)) | (earnings << EARNINGS_SHIFT);
    }

    /// @dev Makes `driver` the cached driver, writing the previous one's slot and queueing their shares first.
    function _useDriver(Batch memory b, address driver) private {
        if (b.driver == driver) return;
        _writeDriver(b);
        _flushDriver(b);
        b.driver = driver;
        uint256 slot = _accountSlot(driver);
        uint256 packed;
        assembly ("memory-safe") {
            packed := sload(slot)
        }
        b.driverAccount = packed;
    }

    function _writeDriver(Batch memory b) private {
        if (b.driverDirty) {
            uint256 slot = _accountSlot(b.driver);
            uint256 packed = b.driverAccount;
            assembly ("memory-safe") {
                sstore(slot, packed)
            }
            b.driverDirty = false;
        }
    }

    /// @dev Queues the cached driver's shares for the batch's single `mintBatch` call.
    function _flushDriver(Batch memory b) private pure {
        if (b.driverShares != 0) {
            uint256 count = b.mintCount;
            b.mintTo[count] = b.driver;
            b.mintAmounts[count] = b.driverShares;
            b.mintCount = count + 1;
            b.driverShares = 0;
        }
    }

    function _closeBatch(Batch memory b) private {
        _writeDriver(b);
        _flushDriver(b);
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

    /// @dev The region's fare and phase; the last region read is cached for the batch (`settle` makes no external
    /// call before the end, so regions cannot change meanwhile). Region id 0 is never registered, so the initial
    /// cache (id 0, word 0) correctly reads as unknown.
    function _region(Batch memory b, uint256 regionId)
        private
        view
        returns (uint256 farePerKm, bool operating, bool exists)
    {
        uint256 packed;
        if (regionId == b.regionId) {
            packed = b.regionWord;
        } else {
            assembly ("memory-safe") {
                mstore(0x00, regionId)
                mstore(0x20, _regions.slot)
                packed := sload(keccak256(0x00, 0x40))
            }
            b.regionId = regionId;
            b.regionWord = packed;
        }
        farePerKm = uint96(packed);
        operating = uint8(packed >> REGION_OPERATING_SHIFT) != 0;
        exists = uint8(packed >> REGION_EXISTS_SHIFT) != 0;
    }

    function _isSettledInBatch(Batch memory b, uint256 tripId) private returns (bool) {
        uint256 wordIndex = tripId >> 8;
        if (wordIndex != b.wordIndex) {
            if (b.wordDirty) _settledWords[b.wordIndex] = b.word;
            b.wordIndex = wordIndex;
            b.word = _settledWords[wordIndex];
            b.wordDirty = false;
        }
        return b.word & (1 << (tripId & 0xff)) != 0;
    }

    /// @dev Only after `_isSettledInBatch(b, tripId)` has cached the trip's bitmap word.
    function _markSettled(Batch memory b, uint256 tripId) private pure {
        b.word |= 1 << (tripId & 0xff);
        b.wordDirty = true;
    }

    /// @dev The signer of `digest` for the EIP-2098 compact signature (r, vs), or zero. Like OpenZeppelin's ECDSA it
    /// refuses s in the upper half order (the malleable twin of every signature).
    function _recover(bytes32 digest, uint256 r, uint256 vs) private view returns (address signer) {
        assembly ("memory-safe") {
            let s := and(vs, 0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff)
            if iszero(gt(s, 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0)) {
                let ptr := mload(0x40)
                mstore(ptr, digest)
                mstore(add(ptr, 0x20), add(shr(255, vs), 27))
                mstore(add(ptr, 0x40), r)
                mstore(add(ptr, 0x60), s)
                // The precompile returns nothing for an invalid signature: clear the word it would write.
                mstore(0x00, 0)
                pop(staticcall(gas(), 0x01, ptr, 0x80, 0x00, 0x20))
                signer := mload(0x00)
            }
        }
    }

    /// @dev Whether every field of the receipt at `at` fits its ABI type (the ABI decoder does not look inside
    /// `settle`'s receipts, which are read word by word).
    function _isWellFormed(uint256 at) private pure returns (bool wellFormed) {
        assembly ("memory-safe") {
            let excess := or(
                or(
                    or(shr(64, calldataload(add(at, TRIP_ID))), shr(160, calldataload(add(at, DRIVER)))),
                    or(shr(160, calldataload(add(at, RIDER))), shr(32, calldataload(add(at, REGION_ID))))
                ),
                or(
                    or(shr(32, calldataload(add(at, DISTANCE))), shr(96, calldataload(add(at, FARE)))),
                    or(shr(40, calldataload(add(at, START_TIME))), shr(40, calldataload(add(at, END_TIME))))
                )
            )
            wellFormed := iszero(excess)
        }
    }

    /// @dev The calldata word at `at + offset`.
    function _word(uint256 at, uint256 offset) private pure returns (uint256 value) {
        assembly ("memory-safe") {
            value := calldataload(add(at, offset))
        }
    }

    function _accountSlot(address account) private pure returns (uint256 slot) {
        assembly ("memory-safe") {
            mstore(0x00, account)
            mstore(0x20, _accounts.slot)
            slot := keccak256(0x00, 0x40)
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

    /// @inheritdoc IRideLedgerGovernance
    function pause() external {
        _checkGuardianOrAdmin();
        _pause();
    }

    /// @inheritdoc IRideLedgerGovernance
    function unpause() external {
        _checkGuardianOrAdmin();
        _unpause();
    }

    function _checkGuardianOrAdmin() private view {
        if (!hasRole(GUARDIAN_ROLE, msg.sender) && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            revert AccessControlUnauthorizedAccount(msg.sender, GUARDIAN_ROLE);
        }
    }
}
