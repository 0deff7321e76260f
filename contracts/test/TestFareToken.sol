// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title TestFareToken
/// @notice A mintable stand-in for a stablecoin, for the local chain only: anyone may mint.
/// @dev Six decimals, like the stablecoins fares are paid in on public chains.
contract TestFareToken is ERC20, ERC20Permit {
    /// @notice Emitted when test tokens are minted.
    event TestMint(address indexed to, uint256 amount);

    constructor() ERC20("CoopRide Test Euro", "tEUR") ERC20Permit("CoopRide Test Euro") {}

    /// @inheritdoc ERC20
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mints `amount` test tokens to `to`. Local chains only: the deploy script refuses other chains.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
        emit TestMint(to, amount);
    }
}
