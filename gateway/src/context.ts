// What a request handler is given: the gateway's services and the request's resolved state. Its own module so that
// the operations (ops/) and the application that dispatches to them (app.ts) both depend on it, not on each other.
import type Koa from "koa";
import type { Logger } from "pino";
import type { AdminResources } from "./admin/admin-api.js";
import type { ObjectAccess } from "../../meta/src/types.js";
import type { Permission } from "./access/acl.js";
import type { BucketAccess, BucketAccessStore } from "./access/bucket-access.js";
import type { KeyStore, Principal } from "./auth/key-store.js";
import type { AuthenticatedRequest } from "./auth/verify-request.js";
import type { GatewayConfig } from "./config.js";
import type { Readiness } from "./http/health.js";
import type { GatewayMetrics } from "./http/metrics.js";
import type { RequestTarget } from "./http/request-target.js";
import type { ObjectStore } from "./objects/object-store.js";
import type { S3Operation } from "./router/resolve.js";

export interface Services {
  config: GatewayConfig;
  objects: ObjectStore;
  credentials: KeyStore;
  /** The access settings of buckets (policy, public access block), cached. */
  bucketAccess: BucketAccessStore;
  log: Logger;
  /** What the admin API works with beyond the object layer: the database, the disks, heal (admin/). */
  admin: AdminResources;
  metrics: GatewayMetrics;
  readiness: Readiness;
}

export interface S3State {
  requestId: string;
  target: RequestTarget;
  operation: S3Operation;
  auth: AuthenticatedRequest;
  /** Who signed the request: the user its key acts as, and the key's limits; ANONYMOUS when nobody did. */
  principal: Principal;
  /** The bucket the request names, as access control saw it when it let the request through; undefined if none. */
  bucketAccess?: BucketAccess;
  /** Set when the object's own ACL decides (ACLs enabled): the permission it must grant, checked once it is loaded. */
  objectPermission?: Permission;
  /** What a new object (or upload) gets in a bucket with ACLs enabled: its ACL and owner. */
  newObjectAccess?: ObjectAccess;
  /**
   * What went wrong, for the access log: thrown by a handler, met by the admin API (which answers it itself), or by
   * the response stream after its headers went out. The first one is kept.
   */
  failure?: unknown;
}

export type S3Context = Koa.ParameterizedContext<S3State> & { services: Services };
export type OperationHandler = (ctx: S3Context) => Promise<void>;
