// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title FeeOnTransferToken
/// @notice A test token that burns 1 % of every transfer (mints excepted), like the fee-on-transfer tokens a ledger
/// must not trust to deliver the amount asked. Local chains only: anyone may mint.
contract FeeOnTransferToken is ERC20, ERC20Permit {
    uint256 public constant FEE_BPS = 100;

    /// @notice Emitted when test tokens are minted.
    event TestMint(address indexed to, uint256 amount);

    constructor() ERC20("CoopRide Fee Euro", "fEUR") ERC20Permit("CoopRide Fee Euro") {}

    /// @inheritdoc ERC20
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mints `amount` test tokens to `to`.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
        emit TestMint(to, amount);
    }

    /// @dev Transfers between accounts lose FEE_BPS of the value (burnt).
    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0)) {
            uint256 fee = value * FEE_BPS / 10_000;
            super._update(from, address(0), fee);
            value -= fee;
        }
        super._update(from, to, value);
    }
}
