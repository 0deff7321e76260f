// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

// Brings OpenZeppelin's TimelockController into the build so the deploy script can deploy it unchanged:
// it holds every admin power; proposer and canceller = CoopGovernor, executor = anyone, no admin.
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
