-- DeleteObject in one statement (issue 5): the bucket is found by name and its owner checked here, as for inline
-- PUTs, instead of in a round trip of its own first. Errors as in 0003: WF404 no such bucket, WF403 not the owner.
create function weft_delete_current_object(p_bucket_name text, p_owner text, p_key text, p_marker_version_id text)
returns table (deleted boolean, versioned boolean)
language plpgsql as $$
#variable_conflict use_column
declare
  bucket record;
begin
  select b.id, b.owner, b.versioning into bucket from buckets b where b.name = p_bucket_name for key share;
  if not found then
    raise exception using errcode = 'WF404', message = 'no such bucket';
  end if;
  if bucket.owner <> p_owner then
    raise exception using errcode = 'WF403', message = 'not the bucket owner';
  end if;
  versioned := bucket.versioning = 'Enabled';
  deleted := weft_delete_object(bucket.id, p_key, versioned, case when versioned then p_marker_version_id end);
  return next;
end
$$;
