-- The team database: teams, agents (one login role each), campaigns, leads handed out by lease,
-- calls, dispositions, notes (append-only), callbacks, the team's do-not-call list and the change
-- feed. Row-level security on every table: an agent reads its own team only and writes only its
-- own calls, notes and dispositions; a team lead (agents.is_lead) manages its team's campaigns
-- and leads. Who is asking is the login role (session_user), looked up in agents.

-- The group roles every agent's and every team lead's login role is a member of (roles belong to
-- the whole server: another database on it may have made them already).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'softphone_agent') THEN
        CREATE ROLE softphone_agent NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'softphone_team_lead') THEN
        CREATE ROLE softphone_team_lead NOLOGIN;
    END IF;
END $$;

CREATE TABLE teams (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL UNIQUE CHECK (length(btrim(name)) > 0),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE agents (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id uuid NOT NULL REFERENCES teams (id),
    name text NOT NULL CHECK (length(btrim(name)) > 0),
    -- The database role the agent logs in as: what the agent types as its login.
    role_name text NOT NULL UNIQUE,
    is_lead boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (team_id, name)
);

-- Who is asking. SECURITY DEFINER (agents is not readable across teams) and keyed by the login
-- role, which a function called on its behalf does not change.
CREATE FUNCTION current_agent() RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$ SELECT id FROM agents WHERE role_name = session_user $$;
CREATE FUNCTION current_team() RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$ SELECT team_id FROM agents WHERE role_name = session_user $$;
CREATE FUNCTION current_is_lead() RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$ SELECT coalesce((SELECT is_lead FROM agents WHERE role_name = session_user), false) $$;

CREATE TABLE campaigns (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id uuid NOT NULL REFERENCES teams (id),
    name text NOT NULL CHECK (length(btrim(name)) > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (team_id, name),
    UNIQUE (team_id, id)
);

CREATE TABLE leads (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id uuid NOT NULL REFERENCES teams (id),
    campaign_id uuid NOT NULL,
    phone text NOT NULL CHECK (phone ~ '^\+[0-9]{4,15}$'),
    name text NOT NULL DEFAULT '',
    company text NOT NULL DEFAULT '',
    email text NOT NULL DEFAULT '',
    city text NOT NULL DEFAULT '',
    notes text NOT NULL DEFAULT '',
    tags text NOT NULL DEFAULT '',
    time_zone text NOT NULL DEFAULT '',
    -- Lower is dialled first.
    priority integer NOT NULL DEFAULT 0,
    -- Set by the team lead: only this agent is handed the lead.
    assigned_to uuid REFERENCES agents (id),
    last_disposition text,
    -- Finished: not handed out again.
    done boolean NOT NULL DEFAULT false,
    -- On the team's do-not-call list (kept in step by a trigger on do_not_call).
    do_not_call boolean NOT NULL DEFAULT false,
    -- The lease: who is working the lead, until when. Written only by claim_lead, release_lead
    -- and renew_leases (agents have no UPDATE on these columns).
    leased_by uuid REFERENCES agents (id),
    lease_expires_at timestamptz,
    -- Given back for later (no answer, busy): nobody is handed it before lease_expires_at, then
    -- anyone is (it takes the lapsed-lease path). Not renewed by its agent's heartbeat.
    parked boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Server time of the last change to the lead's fields: the last writer wins.
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid REFERENCES agents (id),
    FOREIGN KEY (team_id, campaign_id) REFERENCES campaigns (team_id, id),
    UNIQUE (campaign_id, phone),
    CHECK ((leased_by IS NULL) = (lease_expires_at IS NULL))
);
-- The claim's three paths, each an index range scan whatever the number of leases out.
CREATE INDEX leads_free ON leads (campaign_id, priority, id)
    WHERE NOT done AND NOT do_not_call AND leased_by IS NULL AND assigned_to IS NULL;
CREATE INDEX leads_assigned ON leads (assigned_to, campaign_id, priority, id)
    WHERE NOT done AND NOT do_not_call AND leased_by IS NULL AND assigned_to IS NOT NULL;
CREATE INDEX leads_leased ON leads (campaign_id, lease_expires_at)
    WHERE leased_by IS NOT NULL AND NOT done;
CREATE INDEX leads_by_agent ON leads (leased_by) WHERE leased_by IS NOT NULL;
CREATE INDEX leads_team_phone ON leads (team_id, phone);

-- The leases out, as a view on the lead columns (security_invoker: the caller's row-level
-- security applies).
CREATE VIEW lead_leases WITH (security_invoker = true) AS
    SELECT id AS lead_id, team_id, campaign_id, leased_by AS agent_id, lease_expires_at AS expires_at, parked
    FROM leads WHERE leased_by IS NOT NULL;

CREATE TABLE calls (
    -- Made by the app when the call starts: a push sent twice lands once.
    id uuid PRIMARY KEY,
    team_id uuid NOT NULL REFERENCES teams (id),
    agent_id uuid NOT NULL REFERENCES agents (id),
    lead_id bigint REFERENCES leads (id) ON DELETE SET NULL,
    campaign_id uuid REFERENCES campaigns (id),
    direction text NOT NULL CHECK (direction IN ('outbound', 'inbound')),
    number text NOT NULL,
    -- answered, no_answer, busy, failed, missed, rejected, cancelled, transferred, interrupted
    outcome text NOT NULL CHECK (length(outcome) > 0),
    started_at timestamptz NOT NULL,
    answered_at timestamptz,
    ended_at timestamptz,
    talk_seconds integer NOT NULL DEFAULT 0 CHECK (talk_seconds >= 0),
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX calls_team_agent ON calls (team_id, agent_id, started_at);
CREATE INDEX calls_campaign ON calls (campaign_id);

CREATE TABLE dispositions (
    call_id uuid PRIMARY KEY REFERENCES calls (id),
    team_id uuid NOT NULL REFERENCES teams (id),
    agent_id uuid NOT NULL REFERENCES agents (id),
    disposition text NOT NULL CHECK (length(btrim(disposition)) > 0),
    -- The agent's clock when it was set: a later setting by the same agent wins.
    set_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE notes (
    id uuid PRIMARY KEY,
    team_id uuid NOT NULL REFERENCES teams (id),
    agent_id uuid NOT NULL REFERENCES agents (id),
    lead_id bigint REFERENCES leads (id) ON DELETE SET NULL,
    call_id uuid,
    body text NOT NULL CHECK (length(btrim(body)) > 0),
    written_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notes_lead ON notes (lead_id);

CREATE TABLE callbacks (
    id uuid PRIMARY KEY,
    team_id uuid NOT NULL REFERENCES teams (id),
    lead_id bigint NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    -- NULL: anyone on the team may take it.
    agent_id uuid REFERENCES agents (id),
    due_at timestamptz NOT NULL,
    created_by uuid NOT NULL REFERENCES agents (id),
    done_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX callbacks_due ON callbacks (team_id, due_at) WHERE done_at IS NULL;

CREATE TABLE do_not_call (
    team_id uuid NOT NULL REFERENCES teams (id),
    phone text NOT NULL CHECK (phone ~ '^\+[0-9]{4,15}$'),
    added_by uuid REFERENCES agents (id),
    reason text NOT NULL DEFAULT '',
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, phone)
);

-- The change feed. `tx` is the writing transaction's id: a reader takes only transactions older
-- than every one still running (pg_snapshot_xmin), so a change committed late under a lower id
-- is never skipped (see crates/team/src/sync.rs).
CREATE TABLE changes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tx bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    team_id uuid NOT NULL REFERENCES teams (id),
    kind text NOT NULL,
    row_data jsonb NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX changes_feed ON changes (team_id, tx, id);

CREATE FUNCTION record_change() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    INSERT INTO changes (team_id, kind, row_data) VALUES (NEW.team_id, TG_TABLE_NAME, to_jsonb(NEW));
    PERFORM pg_notify('softphone_team_' || replace(NEW.team_id::text, '-', ''), TG_TABLE_NAME);
    RETURN NEW;
END $$;

CREATE TRIGGER calls_feed AFTER INSERT ON calls FOR EACH ROW EXECUTE FUNCTION record_change();
CREATE TRIGGER dispositions_feed AFTER INSERT OR UPDATE ON dispositions FOR EACH ROW EXECUTE FUNCTION record_change();
CREATE TRIGGER notes_feed AFTER INSERT ON notes FOR EACH ROW EXECUTE FUNCTION record_change();
CREATE TRIGGER callbacks_feed AFTER INSERT OR UPDATE ON callbacks FOR EACH ROW EXECUTE FUNCTION record_change();
CREATE TRIGGER do_not_call_feed AFTER INSERT ON do_not_call FOR EACH ROW EXECUTE FUNCTION record_change();
-- Leads come to an agent by claim, not through the feed; edits to a lead's fields and its end
-- (done, disposition, do-not-call) are in it. Lease changes are not.
CREATE TRIGGER leads_feed AFTER UPDATE OF name, company, email, city, notes, tags, time_zone,
    last_disposition, done, do_not_call ON leads FOR EACH ROW EXECUTE FUNCTION record_change();

-- A number put on the team's list stops being handed out at once.
CREATE FUNCTION mark_do_not_call() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    UPDATE leads SET do_not_call = true, updated_at = now()
        WHERE team_id = NEW.team_id AND phone = NEW.phone AND NOT do_not_call;
    RETURN NEW;
END $$;
CREATE TRIGGER do_not_call_marks_leads AFTER INSERT ON do_not_call FOR EACH ROW EXECUTE FUNCTION mark_do_not_call();

-- A lead's fields changed by an agent: server time and who.
CREATE FUNCTION stamp_lead_update() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.name, NEW.company, NEW.email, NEW.city, NEW.notes, NEW.tags, NEW.time_zone)
        IS DISTINCT FROM (OLD.name, OLD.company, OLD.email, OLD.city, OLD.notes, OLD.tags, OLD.time_zone) THEN
        NEW.updated_at := now();
        NEW.updated_by := coalesce(current_agent(), NEW.updated_by);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER leads_stamp BEFORE UPDATE ON leads FOR EACH ROW EXECUTE FUNCTION stamp_lead_update();

-- Hands the calling agent the next lead of a campaign, leased for `lease_seconds`: a callback due
-- to it (or to anyone), then a lead whose lease lapsed (a crashed laptop's), then one the team
-- lead assigned to it, then the next free one by priority. Concurrent claims skip each other's
-- rows (FOR UPDATE SKIP LOCKED): two agents never get the same lead.
CREATE FUNCTION claim_lead(p_campaign uuid, p_lease_seconds integer) RETURNS SETOF leads
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    me uuid := current_agent();
    my_team uuid := current_team();
    picked bigint;
BEGIN
    IF me IS NULL THEN
        RAISE EXCEPTION 'the login % is not an agent of any team', session_user USING ERRCODE = '42501';
    END IF;
    IF p_lease_seconds IS NULL OR p_lease_seconds < 10 OR p_lease_seconds > 86400 THEN
        RAISE EXCEPTION 'a lease lasts 10 s to a day, not % s', p_lease_seconds USING ERRCODE = '22023';
    END IF;
    SELECT l.id INTO picked FROM callbacks c JOIN leads l ON l.id = c.lead_id
        WHERE c.team_id = my_team AND c.done_at IS NULL AND c.due_at <= now()
          AND (c.agent_id IS NULL OR c.agent_id = me)
          AND l.campaign_id = p_campaign AND NOT l.do_not_call
          AND NOT l.done AND (l.leased_by IS NULL OR l.lease_expires_at <= now())
        ORDER BY c.due_at
        FOR UPDATE OF l SKIP LOCKED LIMIT 1;
    IF picked IS NULL THEN
        SELECT id INTO picked FROM leads
            WHERE campaign_id = p_campaign AND team_id = my_team AND leased_by IS NOT NULL
              AND NOT done AND lease_expires_at <= now() AND NOT do_not_call
              AND (assigned_to IS NULL OR assigned_to = me)
            ORDER BY lease_expires_at
            FOR UPDATE SKIP LOCKED LIMIT 1;
    END IF;
    IF picked IS NULL THEN
        SELECT id INTO picked FROM leads
            WHERE assigned_to = me AND campaign_id = p_campaign AND team_id = my_team
              AND NOT done AND NOT do_not_call AND leased_by IS NULL
            ORDER BY priority, id
            FOR UPDATE SKIP LOCKED LIMIT 1;
    END IF;
    IF picked IS NULL THEN
        SELECT id INTO picked FROM leads
            WHERE campaign_id = p_campaign AND team_id = my_team
              AND NOT done AND NOT do_not_call AND leased_by IS NULL AND assigned_to IS NULL
            ORDER BY priority, id
            FOR UPDATE SKIP LOCKED LIMIT 1;
    END IF;
    IF picked IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY UPDATE leads
        SET leased_by = me, lease_expires_at = now() + make_interval(secs => p_lease_seconds), parked = false
        WHERE id = picked RETURNING *;
END $$;

-- Gives a lead back (wrap-up done, or skipped); `finished` marks it done for the whole team;
-- `retry_after_seconds` (not finished) keeps it from everyone that long (no answer: the gap
-- between attempts). Only the agent holding the lease can; returns whether it did.
CREATE FUNCTION release_lead(p_lead bigint, p_finished boolean, p_disposition text, p_retry_after_seconds integer)
    RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    released integer;
    park boolean := NOT p_finished AND coalesce(p_retry_after_seconds, 0) > 0;
BEGIN
    UPDATE leads
        SET leased_by = CASE WHEN park THEN leased_by END,
            lease_expires_at = CASE WHEN park THEN now() + make_interval(secs => p_retry_after_seconds) END,
            parked = park,
            done = done OR p_finished,
            last_disposition = coalesce(p_disposition, last_disposition)
        WHERE id = p_lead AND leased_by = current_agent() AND NOT parked;
    GET DIAGNOSTICS released = ROW_COUNT;
    IF released > 0 AND p_finished THEN
        UPDATE callbacks SET done_at = now() WHERE lead_id = p_lead AND done_at IS NULL AND due_at <= now();
    END IF;
    RETURN released > 0;
END $$;

-- Keeps the calling agent's leases alive (while it works, a heartbeat); returns how many.
CREATE FUNCTION renew_leases(p_lease_seconds integer) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    renewed integer;
BEGIN
    IF p_lease_seconds IS NULL OR p_lease_seconds < 10 OR p_lease_seconds > 86400 THEN
        RAISE EXCEPTION 'a lease lasts 10 s to a day, not % s', p_lease_seconds USING ERRCODE = '22023';
    END IF;
    UPDATE leads SET lease_expires_at = now() + make_interval(secs => p_lease_seconds)
        WHERE leased_by = current_agent() AND NOT done AND NOT parked;
    GET DIAGNOSTICS renewed = ROW_COUNT;
    RETURN renewed;
END $$;

-- Row-level security.
ALTER TABLE teams ENABLE ROW LEVEL SECURITY;
ALTER TABLE agents ENABLE ROW LEVEL SECURITY;
ALTER TABLE campaigns ENABLE ROW LEVEL SECURITY;
ALTER TABLE leads ENABLE ROW LEVEL SECURITY;
ALTER TABLE calls ENABLE ROW LEVEL SECURITY;
ALTER TABLE dispositions ENABLE ROW LEVEL SECURITY;
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE callbacks ENABLE ROW LEVEL SECURITY;
ALTER TABLE do_not_call ENABLE ROW LEVEL SECURITY;
ALTER TABLE changes ENABLE ROW LEVEL SECURITY;

CREATE POLICY own_team ON teams FOR SELECT USING (id = (SELECT current_team()));
CREATE POLICY own_team ON agents FOR SELECT USING (team_id = (SELECT current_team()));
CREATE POLICY own_team ON campaigns FOR SELECT USING (team_id = (SELECT current_team()));
CREATE POLICY lead_manages ON campaigns FOR ALL TO softphone_team_lead
    USING (team_id = (SELECT current_team()) AND (SELECT current_is_lead()))
    WITH CHECK (team_id = (SELECT current_team()) AND (SELECT current_is_lead()));

CREATE POLICY own_team ON leads FOR SELECT USING (team_id = (SELECT current_team()));
CREATE POLICY agents_edit ON leads FOR UPDATE USING (team_id = (SELECT current_team()))
    WITH CHECK (team_id = (SELECT current_team()));
CREATE POLICY lead_manages ON leads FOR ALL TO softphone_team_lead
    USING (team_id = (SELECT current_team()) AND (SELECT current_is_lead()))
    WITH CHECK (team_id = (SELECT current_team()) AND (SELECT current_is_lead()));

CREATE POLICY own_team ON calls FOR SELECT USING (team_id = (SELECT current_team()));
CREATE POLICY own_calls ON calls FOR INSERT
    WITH CHECK (team_id = (SELECT current_team()) AND agent_id = (SELECT current_agent()));

CREATE POLICY own_team ON dispositions FOR SELECT USING (team_id = (SELECT current_team()));
CREATE POLICY own_dispositions ON dispositions FOR INSERT
    WITH CHECK (team_id = (SELECT current_team()) AND agent_id = (SELECT current_agent())
        AND EXISTS (SELECT 1 FROM calls c WHERE c.id = call_id AND c.agent_id = (SELECT current_agent())));
CREATE POLICY own_dispositions_change ON dispositions FOR UPDATE
    USING (agent_id = (SELECT current_agent()))
    WITH CHECK (agent_id = (SELECT current_agent()) AND team_id = (SELECT current_team()));

CREATE POLICY own_team ON notes FOR SELECT USING (team_id = (SELECT current_team()));
CREATE POLICY own_notes ON notes FOR INSERT
    WITH CHECK (team_id = (SELECT current_team()) AND agent_id = (SELECT current_agent()));

CREATE POLICY own_team ON callbacks FOR SELECT USING (team_id = (SELECT current_team()));
CREATE POLICY own_callbacks ON callbacks FOR INSERT
    WITH CHECK (team_id = (SELECT current_team()) AND created_by = (SELECT current_agent()));
CREATE POLICY take_callbacks ON callbacks FOR UPDATE
    USING (team_id = (SELECT current_team())
        AND (agent_id IS NULL OR agent_id = (SELECT current_agent()) OR created_by = (SELECT current_agent())))
    WITH CHECK (team_id = (SELECT current_team()));

CREATE POLICY own_team ON do_not_call FOR SELECT USING (team_id = (SELECT current_team()));
CREATE POLICY agents_add ON do_not_call FOR INSERT
    WITH CHECK (team_id = (SELECT current_team()) AND added_by = (SELECT current_agent()));
CREATE POLICY lead_removes ON do_not_call FOR DELETE TO softphone_team_lead
    USING (team_id = (SELECT current_team()) AND (SELECT current_is_lead()));

CREATE POLICY own_team ON changes FOR SELECT USING (team_id = (SELECT current_team()));

-- Privileges: what the policies above then narrow to the team and the agent.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO softphone_agent, softphone_team_lead;
GRANT SELECT ON teams, agents, campaigns, leads, lead_leases, calls, dispositions, notes, callbacks,
    do_not_call, changes TO softphone_agent;
GRANT UPDATE (name, company, email, city, notes, tags, time_zone) ON leads TO softphone_agent;
GRANT INSERT ON calls, notes, callbacks, do_not_call TO softphone_agent;
GRANT INSERT, UPDATE (disposition, set_at) ON dispositions TO softphone_agent;
GRANT UPDATE (done_at) ON callbacks TO softphone_agent;
GRANT EXECUTE ON FUNCTION current_agent(), current_team(), current_is_lead(), claim_lead(uuid, integer),
    release_lead(bigint, boolean, text, integer), renew_leases(integer) TO softphone_agent;
GRANT softphone_agent TO softphone_team_lead;
GRANT INSERT, UPDATE, DELETE ON campaigns, leads TO softphone_team_lead;
GRANT DELETE ON do_not_call TO softphone_team_lead;
