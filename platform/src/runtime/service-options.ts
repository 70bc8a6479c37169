import type { Bus } from '../bus/index.js';
import type { LiveConfig, PlatformConfig } from '../config/index.js';
import type { Flags } from '../flags/index.js';
import type { Logger } from '../log/index.js';
import type { WorkloadIdentity } from '../rpc/index.js';
import type { Telemetry } from '../telemetry/index.js';

/** What `ServiceRuntime.create` opens a service with. */
export interface ServiceRuntimeOptions {
  readonly name: string;
  readonly platform: PlatformConfig;
  readonly http: {
    readonly host: string;
    readonly port: number;
    /** `/metrics` and `/admin/*` are served here (0: any free port), never on `port`; absent: not served. */
    readonly operatorPort?: number;
  };
  /**
   * Who may call each Connect procedure (`package.Service/Method` → workload names), read at every call
   * (so it can follow the configuration); a procedure not listed is refused. Absent: every call is refused.
   */
  readonly rpcCallers?: () => Readonly<Record<string, readonly string[]>>;
  /** This process's workload identity; otherwise opened from `platform.workloadIdentity` under the service's name. */
  readonly identity?: WorkloadIdentity;
  /** The service's own database; absent for stateless services such as the gateway. */
  readonly database?: { readonly name: string; readonly migrationsPath: string };
  /** A bus shared by every service of the process (embedded mode); otherwise one is opened from config. */
  readonly bus?: Bus;
  readonly usesBus?: boolean;
  readonly log?: Logger;
  /** Made by the runtime from `platform.telemetry` unless given; its logger is the service's logger. */
  readonly telemetry?: Telemetry;
  /**
   * The service's configuration as it follows the file (see LiveConfig); `platform` is then its
   * start value. Without it the configuration is fixed.
   */
  readonly config?: LiveConfig<unknown>;
  /** Flags shared by every service of the process (embedded mode); otherwise opened from `flags.file`. */
  readonly flags?: Flags;
}
