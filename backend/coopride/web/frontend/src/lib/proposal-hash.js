// The Governor's proposal id, computed in the browser to check a draft before signing it:
// hashProposal(targets, values, calldatas, descriptionHash) = uint256(keccak256(abi.encode(...))).
import { encodeAbiParameters, keccak256, stringToBytes } from "viem";

export function hashProposal(draft) {
  const encoded = encodeAbiParameters(
    [{ type: "address[]" }, { type: "uint256[]" }, { type: "bytes[]" }, { type: "bytes32" }],
    [draft.targets, draft.values.map((value) => BigInt(value)), draft.calldatas, keccak256(stringToBytes(draft.description))],
  );
  return BigInt(keccak256(encoded));
}
