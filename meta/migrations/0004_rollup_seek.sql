-- A listing seek that jumps over common prefixes inside PostgreSQL (a loose index scan), so that a delimiter page
-- costs one round trip instead of one per common prefix (issue 5: a page of 100 folders took 100 round trips).
-- meta/src/listing.ts keeps the listing algorithm; this is only a faster seek for it (see seekCurrentObjects).

-- The smallest string above every string that starts with p_prefix, by code point; null when there is none. The same
-- function as prefixSuccessor in meta/src/listing.ts (a test compares the two).
create function weft_prefix_successor(p_prefix text) returns text
language plpgsql immutable strict as $$
declare
  rest text := p_prefix;
  last_code integer;
begin
  while rest <> '' loop
    last_code := ascii(right(rest, 1));
    rest := left(rest, -1);
    if last_code < 1114111 then
      -- U+D800..U+DFFF are not characters: the successor of U+D7FF is U+E000.
      return rest || chr(case when last_code + 1 = 55296 then 57344 else last_code + 1 end);
    end if;
  end loop;
  return null;
end
$$;

-- Current objects (not delete markers) of a bucket from p_from (inclusive or not) up to p_below (exclusive; null for
-- no bound), in key order, at most p_limit: like the plain seek, except that after a key that rolls up into a common
-- prefix (p_prefix + text up to and including the first p_delimiter after it), the other keys of that common prefix
-- are left out.
create function weft_seek_current_rollup(
  p_bucket_id bigint, p_from text, p_inclusive boolean, p_below text, p_prefix text, p_delimiter text, p_limit integer
)
returns table (key text, size bigint, etag text, last_modified timestamptz, storage_class text)
language plpgsql stable as $$
#variable_conflict use_column
declare
  seek_from text := p_from;
  skip_equal boolean := not p_inclusive;
  rows_wanted integer := p_limit;
  batch refcursor;
  found_row record;
  delimiter_at integer;
  jumped boolean;
begin
  while rows_wanted > 0 loop
    -- One more row than wanted: the first may be the excluded p_from itself. Two statements rather than one with an
    -- optional bound, so that the upper bound is always an index bound.
    if p_below is null then
      open batch for
        select v.key, v.size, v.etag, v.last_modified, v.storage_class from versions v
        where v.bucket_id = p_bucket_id and v.is_current and not v.is_delete_marker and v.key >= seek_from
        order by v.key limit rows_wanted + 1;
    else
      open batch for
        select v.key, v.size, v.etag, v.last_modified, v.storage_class from versions v
        where v.bucket_id = p_bucket_id and v.is_current and not v.is_delete_marker and v.key >= seek_from
          and v.key < p_below
        order by v.key limit rows_wanted + 1;
    end if;
    jumped := false;
    loop
      fetch batch into found_row;
      exit when not found;
      continue when skip_equal and found_row.key = seek_from;
      key := found_row.key;
      size := found_row.size;
      etag := found_row.etag;
      last_modified := found_row.last_modified;
      storage_class := found_row.storage_class;
      return next;
      rows_wanted := rows_wanted - 1;
      exit when rows_wanted = 0;
      delimiter_at := strpos(substr(found_row.key, char_length(p_prefix) + 1), p_delimiter);
      if delimiter_at > 0 and starts_with(found_row.key, p_prefix) then
        seek_from := weft_prefix_successor(left(found_row.key, char_length(p_prefix) + delimiter_at + char_length(p_delimiter) - 1));
        skip_equal := false;
        jumped := true;
        exit;
      end if;
    end loop;
    close batch;
    -- A batch read to its end without a jump has exhausted the range (it held more rows than could be returned).
    exit when not jumped or seek_from is null;
  end loop;
end
$$;
