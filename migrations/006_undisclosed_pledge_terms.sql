-- A foreign office's record of a security interest (a USPTO "SECURITY INTEREST") discloses
-- neither the secured amount nor the due date (issue 6); Chinese pledges still state both.
ALTER TABLE rm_pledges ALTER COLUMN secured_amount DROP NOT NULL;
ALTER TABLE rm_pledges ALTER COLUMN currency DROP NOT NULL;
ALTER TABLE rm_pledges ALTER COLUMN due_on DROP NOT NULL;
