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
    }

    event RegionAdded(uint32 indexed regionId, string name, uint32 criticalMass, uint96 farePerKm);
    event RegionFareSet(uint32 indexed regionId, uint96 farePerKm);
    event CriticalMassSet(uint32 indexed regionId, uint32 criticalMass);
    event RegionActivated(uint32 indexed regionId, uint32 members);
    event RegionMembersChanged(uint32 indexed regionId, address indexed member, bool joined, uint32 members);
    event FeeBpsSet(uint16 feeBps);
    event RewardsSet(uint96 bootstrapRewardPerKm, uint96 operatingRewardPerKm);
    event HalvingIntervalSet(uint256 halvingInterval);
    event DailyRewardedMetresSet(uint32 dailyRewardedMetres);
    event TreasurySpent(address indexed to, uint256 amount);
    event SurplusSentToShareholders(uint256 amount);
    /// @notice Governance paused over a guardian's pause: only governance lifts it now.
    event PauseTakenOverByGovernance(address indexed account);

    error UnknownRegion(uint32 regionId);
    error RegionExists(uint32 regionId);
    error RegionAlreadyOperating(uint32 regionId);
    error CriticalMassNotReached(uint32 regionId, uint32 members, uint32 needed);
    error InvalidParameter(string name);
    error TreasuryInsufficient(uint256 available, uint256 requested);
    error OnlyMembership(address caller);
    error ZeroAddress();
    /// @notice Governance paused settlement: the guardian cannot lift that pause.
    error PausedByGovernance();

    /// @notice Registers a region in the bootstrap phase.
    function addRegion(uint32 regionId, string calldata name, uint32 criticalMass, uint96 farePerKm) external;
    /// @notice Sets a region's fare in fare-token units per km.
    function setRegionFare(uint32 regionId, uint96 farePerKm) external;
    /// @notice Sets the member count at which a region may switch to Operating.
    function setCriticalMass(uint32 regionId, uint32 criticalMass) external;
    /// @notice Switches a region to Operating once its members reach critical mass; anyone may call; never back.
    function activateRegion(uint32 regionId) external;
    /// @notice Sets the cooperative fee in basis points (at most 10,000).
    function setFeeBps(uint16 feeBps) external;
    /// @notice Sets the share rewards per km for bootstrap and operating regions (before halvings).
    function setRewards(uint96 bootstrapRewardPerKm, uint96 operatingRewardPerKm) external;
    /// @notice Sets how many minted shares halve the reward rate (non-zero).
    function setHalvingInterval(uint256 halvingInterval) external;
    /// @notice Sets the metres per driver per UTC day that earn shares.
    function setDailyRewardedMetres(uint32 dailyRewardedMetres) external;
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
}
