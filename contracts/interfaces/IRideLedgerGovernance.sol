// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IRideLedgerGovernance
/// @notice Regions, parameters and the treasury: what governance (the Timelock) controls on the RideLedger.
interface IRideLedgerGovernance {
    /// @notice A region as the chain knows it (its name lives only in the `RegionAdded` event).
    struct Region {
        uint96 farePerKm;
        uint32 criticalMass;
        uint32 members;
        bool operating;
        bool exists;
        /// @dev When `operating` last changed (0 if never): a trip that ended before it settles under the other phase.
        uint40 phaseChangedAt;
        /// @dev Kilometres rewarded with shares per driving day in the region, all drivers together.
        uint32 dailyRewardedKm;
    }

    event RegionAdded(uint32 indexed regionId, string name, uint32 criticalMass, uint96 farePerKm);
    event RegionFareSet(uint32 indexed regionId, uint96 farePerKm);
    event CriticalMassSet(uint32 indexed regionId, uint32 criticalMass);
    /// @notice The region switched phase, by activity (`activeDrivers` counted) or by governance (`activeDrivers` 0).
    event RegionPhaseChanged(uint32 indexed regionId, bool operating, uint256 activeDrivers);
    event RegionDailyCapSet(uint32 indexed regionId, uint32 dailyRewardedKm);
    event RegionMembersChanged(uint32 indexed regionId, address indexed member, bool joined, uint32 members);
    event FeeBpsSet(uint16 feeBps);
    event RewardsSet(uint96 bootstrapRewardPerKm, uint96 operatingRewardPerKm);
    event HalvingIntervalSet(uint256 halvingInterval);
    event DailyRewardedMetresSet(uint32 dailyRewardedMetres);
    event TripBoundsSet(uint32 maxTripSeconds);
    event ReceiptWindowsSet(uint32 disputeWindow, uint32 maxReceiptAge);
    event TreasurySpent(address indexed to, uint256 amount);
    event SurplusSentToShareholders(uint256 amount);
    /// @notice Governance paused over a guardian's pause: only governance lifts it now.
    event PauseTakenOverByGovernance(address indexed account);

    error UnknownRegion(uint32 regionId);
    error RegionExists(uint32 regionId);
    error RegionAlreadyOperating(uint32 regionId);
    error RegionPhaseUnchanged(uint32 regionId, bool operating);
    error CriticalMassNotReached(uint32 regionId, uint256 activeDrivers, uint32 needed);
    /// @notice `driver` is not a member whose last settled drive was in the region within ACTIVITY_WINDOW, or the
    /// list is not strictly ascending.
    error NotActiveDriver(address driver);
    error InvalidParameter(string name);
    error TreasuryInsufficient(uint256 available, uint256 requested);
    error OnlyMembership(address caller);
    error ZeroAddress();
    /// @notice Governance paused settlement: the guardian cannot lift that pause.
    error PausedByGovernance();

    /// @notice Registers a region in the bootstrap phase.
    function addRegion(
        uint32 regionId,
        string calldata name,
        uint32 criticalMass,
        uint96 farePerKm,
        uint32 dailyRewardedKm
    ) external;
    /// @notice Sets the kilometres rewarded per driving day in a region, all drivers together.
    function setRegionDailyCap(uint32 regionId, uint32 dailyRewardedKm) external;
    /// @notice Sets a region's fare in fare-token units per km.
    function setRegionFare(uint32 regionId, uint96 farePerKm) external;
    /// @notice Sets the number of active drivers at which a region may switch to Operating.
    function setCriticalMass(uint32 regionId, uint32 criticalMass) external;
    /// @notice Anyone switches a bootstrap region to Operating by naming at least `criticalMass` distinct active
    /// drivers (strictly ascending addresses): members whose last settled drive was in the region within
    /// ACTIVITY_WINDOW.
    function activateRegion(uint32 regionId, address[] calldata activeDrivers) external;
    /// @notice Governance switches a region's phase, either way.
    function setRegionPhase(uint32 regionId, bool operating) external;
    /// @notice Sets the cooperative fee in basis points (at most 10,000).
    function setFeeBps(uint16 feeBps) external;
    /// @notice Sets the share rewards per km for bootstrap and operating regions (before halvings).
    function setRewards(uint96 bootstrapRewardPerKm, uint96 operatingRewardPerKm) external;
    /// @notice Sets how many minted shares halve the reward rate (non-zero).
    function setHalvingInterval(uint256 halvingInterval) external;
    /// @notice Sets the metres per driver per driving day (UTC day of a trip's end) that earn shares.
    function setDailyRewardedMetres(uint32 dailyRewardedMetres) external;
    /// @notice Sets the longest trip (end - start) a receipt may report.
    function setTripBounds(uint32 maxTripSeconds) external;
    /// @notice Sets the dispute window after a trip's end and the age after which a receipt is `Expired`
    /// (disputeWindow < maxReceiptAge).
    function setReceiptWindows(uint32 disputeWindow, uint32 maxReceiptAge) external;
    /// @notice Pays `amount` fare tokens from the treasury to `to`.
    function spendTreasury(address to, uint256 amount) external;
    /// @notice Moves `amount` from the treasury to the shareholders (CoopShare's surplus distribution).
    function distributeSurplus(uint256 amount) external;
    /// @notice Stops settlement (guardian or governance). Escrow and earnings stay withdrawable. Governance pausing
    /// while the guardian's pause holds takes that pause over.
    function pause() external;
    /// @notice Resumes settlement: governance always; the guardian only a pause it made itself.
    function unpause() external;
    /// @notice Whether the current pause is governance's (the guardian cannot lift it).
    function pausedByGovernance() external view returns (bool);

    /// @notice A region's on-chain state.
    function region(uint32 regionId) external view returns (Region memory);
    /// @notice The fare for `distanceMetres` in `regionId` at its current fare.
    function quoteFare(uint32 regionId, uint32 distanceMetres) external view returns (uint256);
    /// @notice The share reward per km now, after halvings.
    function currentRewardPerKm(bool operating) external view returns (uint256);
    /// @notice Whether `driver` is a member whose last settled drive was in `regionId` within ACTIVITY_WINDOW.
    function isActiveDriver(address driver, uint32 regionId) external view returns (bool);
    /// @notice Metres rewarded in `regionId` on driving day `day` (unix time / 1 days).
    function regionRewardedMetres(uint32 regionId, uint256 day) external view returns (uint256);
    /// @notice The longest trip a receipt may report, in seconds.
    function maxTripSeconds() external view returns (uint32);
    /// @notice Seconds after a trip's end before an unconfirmed fare is paid.
    function disputeWindow() external view returns (uint32);
    /// @notice Seconds after a trip's end after which its receipt is `Expired`.
    function maxReceiptAge() external view returns (uint32);
}
