export {
  ClusterTopology,
  replicaKey,
  startClusterTopology,
  type ClusterTopologyOptions,
  type ClusterUrls,
  type ReplicaKey,
} from './topology.js';
export {
  NatsCluster,
  NatsNode,
  type NatsNodePorts,
  type StreamClusterInfo,
} from './nats-cluster.js';
export { PostgresInstance, PostgresPair, type FailoverTimings } from './postgres-pair.js';
