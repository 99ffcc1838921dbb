-- Issue 17 (law; domain.md s9, docs/law.md).
-- A patent may be registered as an application: no grant date until it is granted.
ALTER TABLE rm_patents ALTER COLUMN granted_on DROP NOT NULL;

-- The indicators' facts of a deal gain two marks:
-- K1 splits transfers of an application right (Patent Law Art. 10) from those of a patent;
-- K10 counts open licences declared for less than a year (accepted and flagged INV-5).
ALTER TABLE rm_deal_facts ADD COLUMN application_right boolean NOT NULL DEFAULT false;
ALTER TABLE rm_deal_facts ADD COLUMN short_open_licence boolean NOT NULL DEFAULT false;

-- A request for invalidation that awaits its decision (Art. 45-46), shown to auditors: while
-- it is pending a pledge is refused (INV-4) unless acknowledged. No log before this
-- migration holds such a request, so false is every existing patent's value.
ALTER TABLE rm_patents ADD COLUMN invalidation_pending boolean NOT NULL DEFAULT false;
