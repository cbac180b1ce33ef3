-- Schema 2. A laptop that crashed or was restarted: the leads it held then are in no dialing
-- session of it any more, except those of the session it resumes (`p_keep`), and its next
-- session's heartbeat would keep them its own for good. The app gives the others back (to anyone,
-- not finished) the first time it talks to the team after it starts. Parked leads (a retry gap)
-- stay parked until their gap ends. Returns how many were given back.
CREATE FUNCTION give_back_held_leads(p_keep bigint[]) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    given_back integer;
BEGIN
    IF current_agent() IS NULL THEN
        RAISE EXCEPTION 'the login % is not an agent of any team', session_user USING ERRCODE = '42501';
    END IF;
    UPDATE leads SET leased_by = NULL, lease_expires_at = NULL
        WHERE leased_by = current_agent() AND NOT parked AND NOT (id = ANY (coalesce(p_keep, '{}')));
    GET DIAGNOSTICS given_back = ROW_COUNT;
    RETURN given_back;
END $$;

REVOKE EXECUTE ON FUNCTION give_back_held_leads(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION give_back_held_leads(bigint[]) TO softphone_agent;

-- A give-back sent late (the wrap-up was saved while the team was away) may find the lease lapsed:
-- a finished lead is still finished for the team when nobody else holds it now (last writer by
-- server time); one another agent holds is theirs, and a lead given back for later only by the
-- agent holding it, as before.
CREATE OR REPLACE FUNCTION release_lead(p_lead bigint, p_finished boolean, p_disposition text, p_retry_after_seconds integer)
    RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    me uuid := current_agent();
    released integer;
    park boolean := NOT p_finished AND coalesce(p_retry_after_seconds, 0) > 0;
BEGIN
    UPDATE leads
        SET leased_by = CASE WHEN park THEN me END,
            lease_expires_at = CASE WHEN park THEN now() + make_interval(secs => p_retry_after_seconds) END,
            parked = park,
            done = done OR p_finished,
            last_disposition = coalesce(p_disposition, last_disposition)
        WHERE id = p_lead AND team_id = current_team()
          AND ((leased_by = me AND NOT parked)
               OR (p_finished AND (leased_by IS NULL OR leased_by = me OR lease_expires_at <= now())));
    GET DIAGNOSTICS released = ROW_COUNT;
    IF released > 0 AND p_finished THEN
        UPDATE callbacks SET done_at = now() WHERE lead_id = p_lead AND done_at IS NULL AND due_at <= now();
    END IF;
    RETURN released > 0;
END $$;

-- The stamp of a lead's edit fires for an edit of its fields only, not for every claim, give-back
-- and heartbeat (which never set them): one trigger call less on the claim's path.
DROP TRIGGER leads_stamp ON leads;
CREATE TRIGGER leads_stamp BEFORE UPDATE OF name, company, email, city, notes, tags, time_zone ON leads
    FOR EACH ROW EXECUTE FUNCTION stamp_lead_update();
