export {
  diffOpenApi,
  type ContractChange,
  type ContractChangeKind,
  type ContractChangeLocation,
  type ContractChangeTarget,
  type ContractDiff,
  type ContractDiffLabels,
} from './contract-diff.js';
