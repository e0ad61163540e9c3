import assert from "node:assert/strict";
import { S3Error, type S3ErrorCode } from "../s3/errors.js";
import { lifecycleRulesFromXml, renderLifecycleConfiguration } from "./configuration.js";

function document(...rules: string[]): string {
  return `<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${rules.map((rule) => `<Rule>${rule}</Rule>`).join("")}</LifecycleConfiguration>`;
}

function refused(xml: string, code: S3ErrorCode, message?: RegExp): void {
  assert.throws(
    () => lifecycleRulesFromXml(xml),
    (error: unknown) => error instanceof S3Error && error.code === code && (!message || message.test(error.message)),
    `${code} expected for ${xml}`,
  );
}

const EXPIRE = "<Expiration><Days>3</Days></Expiration>";

describe("lifecycle configuration", () => {
  it("reads every filter form, action and the legacy Prefix, and renders them back the same", () => {
    const xml = document(
      `<ID>by-prefix</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status>${EXPIRE}`,
      `<ID>by-tag</ID><Filter><Tag><Key>kind</Key><Value>tmp</Value></Tag></Filter><Status>Disabled</Status><Expiration><Date>2030-01-01T00:00:00Z</Date></Expiration>`,
      `<ID>by-and</ID><Filter><And><Prefix>a/</Prefix><Tag><Key>k1</Key><Value>v1</Value></Tag><Tag><Key>k2</Key><Value></Value></Tag><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>1000</ObjectSizeLessThan></And></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>2</NoncurrentDays><NewerNoncurrentVersions>3</NewerNoncurrentVersions></NoncurrentVersionExpiration>`,
      `<ID>by-size</ID><Filter><ObjectSizeGreaterThan>5</ObjectSizeGreaterThan></Filter><Status>Enabled</Status>${EXPIRE}`,
      `<ID>all</ID><Filter></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration><AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload>`,
      `<ID>legacy</ID><Prefix>old/</Prefix><Status>Enabled</Status>${EXPIRE}`,
    );
    const rules = lifecycleRulesFromXml(xml);
    assert.deepEqual(rules, [
      { id: "by-prefix", status: "Enabled", filter: { prefix: "logs/" }, expiration: { days: 3 } },
      { id: "by-tag", status: "Disabled", filter: { tag: { Key: "kind", Value: "tmp" } }, expiration: { date: "2030-01-01T00:00:00.000Z" } },
      {
        id: "by-and",
        status: "Enabled",
        filter: { and: { prefix: "a/", tags: [{ Key: "k1", Value: "v1" }, { Key: "k2", Value: "" }], objectSizeGreaterThan: 10, objectSizeLessThan: 1000 } },
        noncurrentVersionExpiration: { noncurrentDays: 2, newerNoncurrentVersions: 3 },
      },
      { id: "by-size", status: "Enabled", filter: { objectSizeGreaterThan: 5 }, expiration: { days: 3 } },
      { id: "all", status: "Enabled", filter: {}, expiration: { expiredObjectDeleteMarker: true }, abortIncompleteMultipartUpload: { daysAfterInitiation: 7 } },
      { id: "legacy", status: "Enabled", prefix: "old/", expiration: { days: 3 } },
    ]);
    assert.deepEqual(lifecycleRulesFromXml(renderLifecycleConfiguration(rules)), rules);
    assert.match(renderLifecycleConfiguration(rules), /<Filter><\/Filter>/);
  });

  it("gives a rule without an ID one of its own", () => {
    const [rule] = lifecycleRulesFromXml(document(`<Filter><Prefix></Prefix></Filter><Status>Enabled</Status>${EXPIRE}`));
    assert.ok(rule && rule.id.length > 0 && rule.id.length <= 255);
    assert.deepEqual(rule.filter, { prefix: "" });
  });

  it("refuses Transition and NoncurrentVersionTransition with NotImplemented, naming them", () => {
    refused(document(`<ID>t</ID><Filter/><Status>Enabled</Status><Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition>`), "NotImplemented", /Transition/);
    refused(
      document(`<ID>n</ID><Filter/><Status>Enabled</Status>${EXPIRE}<NoncurrentVersionTransition><NoncurrentDays>1</NoncurrentDays><StorageClass>GLACIER</StorageClass></NoncurrentVersionTransition>`),
      "NotImplemented",
      /NoncurrentVersionTransition/,
    );
  });

  it("refuses malformed documents with MalformedXML", () => {
    refused("<LifecycleConfiguration></LifecycleConfiguration>", "MalformedXML");
    refused("<Other/>", "MalformedXML");
    refused(document(`<ID>x</ID><Filter/><Status>enabled</Status>${EXPIRE}`), "MalformedXML");
    refused(document(`<ID>x</ID><Status>Enabled</Status>${EXPIRE}`), "MalformedXML");
    refused(document(`<ID>x</ID><Prefix>a</Prefix><Filter/><Status>Enabled</Status>${EXPIRE}`), "MalformedXML");
    refused(document(`<ID>x</ID><Filter><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status>${EXPIRE}`), "MalformedXML");
    refused(document(`<ID>x</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days><Date>2030-01-01T00:00:00Z</Date></Expiration>`), "MalformedXML");
    refused(document(`<ID>x</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>`), "MalformedXML");
    refused(document(`<ID>x</ID><Filter/><Status>Enabled</Status><Expiration><Days>soon</Days></Expiration>`), "MalformedXML");
    refused(document(...Array.from({ length: 1001 }, (_, index) => `<ID>r${index}</ID><Filter/><Status>Enabled</Status>${EXPIRE}`)), "MalformedXML");
  });

  it("refuses bad values with AWS's InvalidArgument messages", () => {
    refused(document(`<ID>x</ID><Filter/><Status>Enabled</Status><Expiration><Days>0</Days></Expiration>`), "InvalidArgument", /^'Days' for Expiration action must be a positive integer$/);
    refused(
      document(`<ID>x</ID><Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>0</NoncurrentDays></NoncurrentVersionExpiration>`),
      "InvalidArgument",
      /^'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer$/,
    );
    refused(
      document(`<ID>x</ID><Filter/><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>-1</DaysAfterInitiation></AbortIncompleteMultipartUpload>`),
      "InvalidArgument",
      /^'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer$/,
    );
    refused(document(`<ID>x</ID><Filter/><Status>Enabled</Status><Expiration><Date>2030-01-01T12:00:00Z</Date></Expiration>`), "InvalidArgument", /midnight GMT/);
    refused(document(`<ID>${"i".repeat(256)}</ID><Filter/><Status>Enabled</Status>${EXPIRE}`), "InvalidArgument", /255/);
    refused(document(`<ID>same</ID><Filter/><Status>Enabled</Status>${EXPIRE}`, `<ID>same</ID><Filter/><Status>Enabled</Status>${EXPIRE}`), "InvalidArgument", /Rule ID must be unique/);
    refused(
      document(`<ID>x</ID><Filter><And><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>10</ObjectSizeLessThan></And></Filter><Status>Enabled</Status>${EXPIRE}`),
      "InvalidArgument",
    );
    refused(
      document(`<ID>x</ID><Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>101</NewerNoncurrentVersions></NoncurrentVersionExpiration>`),
      "InvalidArgument",
    );
  });

  it("refuses rules AWS calls invalid requests", () => {
    refused(document(`<ID>x</ID><Filter/><Status>Enabled</Status>`), "InvalidRequest", /At least one action/);
    const tagFilter = "<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>";
    refused(document(`<ID>x</ID>${tagFilter}<Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>`), "InvalidRequest", /Tags/);
    refused(document(`<ID>x</ID>${tagFilter}<Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>`), "InvalidRequest");
    refused(
      document(`<ID>x</ID><Filter><And><Tag><Key>k</Key><Value>1</Value></Tag><Tag><Key>k</Key><Value>2</Value></Tag></And></Filter><Status>Enabled</Status>${EXPIRE}`),
      "InvalidRequest",
      /Duplicate Tag Keys/,
    );
  });
});
