// The LifecycleConfiguration document of Put/GetBucketLifecycleConfiguration: parsed and checked as AWS checks it
// (its error codes and messages), and rendered back. Transitions are refused: Weft has no storage classes to move
// objects between, and a rule it would not run must not be accepted.
import { randomUUID } from "node:crypto";
import type { LifecycleFilter, LifecycleRule, Tag } from "../../../meta/src/store.js";
import { S3Error } from "../s3/errors.js";
import { parseXml, renderXml, type XmlObject, type XmlValue } from "../s3/xml.js";
import { filterTags } from "./rules.js";

const MAX_RULES = 1000;
const MAX_ID_LENGTH = 255;
/** AWS: NewerNoncurrentVersions is 1 to 100. */
const MAX_NEWER_NONCURRENT_VERSIONS = 100;
const TRANSITION_ELEMENTS = ["Transition", "NoncurrentVersionTransition"] as const;

function list(value: XmlValue): XmlValue[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** An element that may appear once: its text. */
function text(value: XmlValue): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new S3Error("MalformedXML");
  return value;
}

/** An element that may appear once and holds elements (an empty one parses as ""). */
function element(value: XmlValue): XmlObject | undefined {
  if (value === undefined) return undefined;
  if (value === "") return {};
  if (typeof value !== "object" || Array.isArray(value)) throw new S3Error("MalformedXML");
  return value;
}

function wholeNumber(value: XmlValue): number | undefined {
  const digits = text(value);
  if (digits === undefined) return undefined;
  if (!/^-?\d{1,15}$/.test(digits)) throw new S3Error("MalformedXML");
  return Number(digits);
}

function positiveDays(value: XmlValue, message: string): number | undefined {
  const days = wholeNumber(value);
  if (days !== undefined && days < 1) throw new S3Error("InvalidArgument", message);
  return days;
}

function tagOf(value: XmlValue): Tag {
  const tag = element(value);
  const key = text(tag?.Key);
  if (!tag || key === undefined) throw new S3Error("MalformedXML");
  return { Key: key, Value: text(tag.Value) ?? "" };
}

function size(value: XmlValue): number | undefined {
  const bytes = wholeNumber(value);
  if (bytes !== undefined && bytes < 0) throw new S3Error("InvalidArgument", "Object size must be a non-negative integer");
  return bytes;
}

function checkSizeRange(greaterThan: number | undefined, lessThan: number | undefined): void {
  if (greaterThan !== undefined && lessThan !== undefined && greaterThan >= lessThan) {
    throw new S3Error("InvalidArgument", "ObjectSizeGreaterThan must be less than ObjectSizeLessThan");
  }
}

function filterFromXml(value: XmlValue): LifecycleFilter {
  const filter = element(value)!;
  const members = Object.keys(filter);
  if (members.length > 1) throw new S3Error("MalformedXML");
  const prefix = text(filter.Prefix);
  if (prefix !== undefined) return { prefix };
  if (filter.Tag !== undefined) return { tag: tagOf(filter.Tag) };
  const greaterThan = size(filter.ObjectSizeGreaterThan);
  if (greaterThan !== undefined) return { objectSizeGreaterThan: greaterThan };
  const lessThan = size(filter.ObjectSizeLessThan);
  if (lessThan !== undefined) return { objectSizeLessThan: lessThan };
  const and = element(filter.And);
  if (and === undefined) {
    if (members.length > 0) throw new S3Error("MalformedXML");
    return {};
  }
  const tags = list(and.Tag).map(tagOf);
  const keys = new Set(tags.map((tag) => tag.Key));
  if (keys.size < tags.length) throw new S3Error("InvalidRequest", "Duplicate Tag Keys are not allowed.");
  const andPrefix = text(and.Prefix);
  const andGreaterThan = size(and.ObjectSizeGreaterThan);
  const andLessThan = size(and.ObjectSizeLessThan);
  checkSizeRange(andGreaterThan, andLessThan);
  return {
    and: {
      ...(andPrefix !== undefined ? { prefix: andPrefix } : {}),
      tags,
      ...(andGreaterThan !== undefined ? { objectSizeGreaterThan: andGreaterThan } : {}),
      ...(andLessThan !== undefined ? { objectSizeLessThan: andLessThan } : {}),
    },
  };
}

function expirationFromXml(value: XmlValue): LifecycleRule["expiration"] {
  const expiration = element(value);
  if (!expiration) return undefined;
  const days = positiveDays(expiration.Days, "'Days' for Expiration action must be a positive integer");
  const dateText = text(expiration.Date);
  const marker = text(expiration.ExpiredObjectDeleteMarker);
  if ([days, dateText, marker].filter((member) => member !== undefined).length !== 1) throw new S3Error("MalformedXML");
  if (marker !== undefined && marker !== "true" && marker !== "false") throw new S3Error("MalformedXML");
  if (dateText !== undefined) {
    const date = new Date(dateText);
    if (Number.isNaN(date.getTime())) throw new S3Error("InvalidArgument", "Invalid date format");
    if (date.getTime() % 86_400_000 !== 0) throw new S3Error("InvalidArgument", "'Date' must be at midnight GMT");
    return { date: date.toISOString() };
  }
  return days !== undefined ? { days } : { expiredObjectDeleteMarker: marker === "true" };
}

function noncurrentExpirationFromXml(value: XmlValue): LifecycleRule["noncurrentVersionExpiration"] {
  const expiration = element(value);
  if (!expiration) return undefined;
  const noncurrentDays = positiveDays(expiration.NoncurrentDays, "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer");
  if (noncurrentDays === undefined) throw new S3Error("MalformedXML");
  const newer = wholeNumber(expiration.NewerNoncurrentVersions);
  if (newer !== undefined && (newer < 1 || newer > MAX_NEWER_NONCURRENT_VERSIONS)) {
    throw new S3Error("InvalidArgument", "'NewerNoncurrentVersions' for NoncurrentVersionExpiration action must be a positive integer up to 100");
  }
  return { noncurrentDays, ...(newer !== undefined ? { newerNoncurrentVersions: newer } : {}) };
}

function abortFromXml(value: XmlValue): LifecycleRule["abortIncompleteMultipartUpload"] {
  const abort = element(value);
  if (!abort) return undefined;
  const days = positiveDays(abort.DaysAfterInitiation, "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer");
  if (days === undefined) throw new S3Error("MalformedXML");
  return { daysAfterInitiation: days };
}

function ruleFromXml(value: XmlValue): LifecycleRule {
  const rule = element(value);
  if (!rule) throw new S3Error("MalformedXML");
  const id = text(rule.ID) || Buffer.from(randomUUID()).toString("base64").replace(/=+$/, "");
  if (id.length > MAX_ID_LENGTH) throw new S3Error("InvalidArgument", "ID length should not exceed allowed limit of 255");
  const status = text(rule.Status);
  if (status !== "Enabled" && status !== "Disabled") throw new S3Error("MalformedXML");
  const prefix = text(rule.Prefix);
  if ((prefix === undefined) === (rule.Filter === undefined)) throw new S3Error("MalformedXML");
  const filter = rule.Filter !== undefined ? filterFromXml(rule.Filter) : undefined;
  const expiration = expirationFromXml(rule.Expiration);
  const noncurrentVersionExpiration = noncurrentExpirationFromXml(rule.NoncurrentVersionExpiration);
  const abortIncompleteMultipartUpload = abortFromXml(rule.AbortIncompleteMultipartUpload);
  if (!expiration && !noncurrentVersionExpiration && !abortIncompleteMultipartUpload) {
    throw new S3Error("InvalidRequest", "At least one action needs to be specified in a rule");
  }
  const hasTags = filterTags(filter).length > 0;
  if (expiration?.expiredObjectDeleteMarker !== undefined && hasTags) {
    throw new S3Error("InvalidRequest", "ExpiredObjectDeleteMarker cannot be specified with a Tag filter");
  }
  if (abortIncompleteMultipartUpload && hasTags) {
    throw new S3Error("InvalidRequest", "AbortIncompleteMultipartUpload cannot be specified with Tags.");
  }
  return {
    id,
    status,
    ...(prefix !== undefined ? { prefix } : {}),
    ...(filter !== undefined ? { filter } : {}),
    ...(expiration ? { expiration } : {}),
    ...(noncurrentVersionExpiration ? { noncurrentVersionExpiration } : {}),
    ...(abortIncompleteMultipartUpload ? { abortIncompleteMultipartUpload } : {}),
  };
}

/** The rules of a LifecycleConfiguration document; S3Error (MalformedXML, InvalidArgument, InvalidRequest, NotImplemented). */
export function lifecycleRulesFromXml(document: string): LifecycleRule[] {
  const configuration = parseXml(document, "LifecycleConfiguration");
  const elements = list(configuration.Rule);
  if (elements.length === 0 || elements.length > MAX_RULES) throw new S3Error("MalformedXML");
  for (const rule of elements) {
    for (const name of TRANSITION_ELEMENTS) {
      if (rule && typeof rule === "object" && !Array.isArray(rule) && rule[name] !== undefined) {
        throw new S3Error("NotImplemented", `${name} is not implemented by this server: it has no storage classes to move objects between.`);
      }
    }
  }
  const rules = elements.map(ruleFromXml);
  const ids = new Set(rules.map((rule) => rule.id));
  if (ids.size < rules.length) throw new S3Error("InvalidArgument", "Rule ID must be unique. Found same ID for more than one rule");
  return rules;
}

function tagXml(tag: Tag): XmlObject {
  return { Key: tag.Key, Value: tag.Value };
}

function filterXml(filter: LifecycleFilter): XmlObject {
  if (!filter.and) {
    return {
      Prefix: filter.prefix,
      Tag: filter.tag && tagXml(filter.tag),
      ObjectSizeGreaterThan: filter.objectSizeGreaterThan,
      ObjectSizeLessThan: filter.objectSizeLessThan,
    };
  }
  return {
    And: {
      Prefix: filter.and.prefix,
      Tag: filter.and.tags.length ? filter.and.tags.map(tagXml) : undefined,
      ObjectSizeGreaterThan: filter.and.objectSizeGreaterThan,
      ObjectSizeLessThan: filter.and.objectSizeLessThan,
    },
  };
}

export function renderLifecycleConfiguration(rules: LifecycleRule[]): string {
  return renderXml("LifecycleConfiguration", {
    Rule: rules.map((rule) => ({
      ID: rule.id,
      Prefix: rule.prefix,
      Filter: rule.filter && filterXml(rule.filter),
      Status: rule.status,
      Expiration: rule.expiration && {
        Days: rule.expiration.days,
        Date: rule.expiration.date,
        ExpiredObjectDeleteMarker: rule.expiration.expiredObjectDeleteMarker,
      },
      NoncurrentVersionExpiration: rule.noncurrentVersionExpiration && {
        NoncurrentDays: rule.noncurrentVersionExpiration.noncurrentDays,
        NewerNoncurrentVersions: rule.noncurrentVersionExpiration.newerNoncurrentVersions,
      },
      AbortIncompleteMultipartUpload: rule.abortIncompleteMultipartUpload && {
        DaysAfterInitiation: rule.abortIncompleteMultipartUpload.daysAfterInitiation,
      },
    })),
  });
}
