-- wrk script of the propagation baseline: POSTs a PROPAGATED message, shaped and sized like the hub's, to the
-- standalone receiver of LoadGen --mode receiver, a new sourceCustomerId each time as the hub's messages have.
local threads = 0
local n = 0

function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  wrk.method = "POST"
  wrk.path = "/hooks/consent"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["webhook-id"] = "01a2084d-5c66-7976-a90c-af59a42385bb"
  wrk.headers["webhook-timestamp"] = "1700000000"
  wrk.headers["webhook-signature"] = "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="
  wrk.headers["api-key"] = "0123456789abcdef0123456789abcdef"
end

function request()
  n = n + 1
  local body = '{"commandType":"PROPAGATED","commandTimestamp":"2024-01-01T10:00:00.000Z","sourceCustomerId":"w' .. id .. '-' .. n ..
    '","consent":{"gdprCompliant":true,"consentAttributes":[{"consentCode":"OFFERS","consentFlag":true,' ..
    '"consentDescription":"Offers","consentLongDescription":"","requestedTimestamp":"2024-01-01T10:00:00.000Z",' ..
    '"validatedTimestamp":"2024-01-01T10:00:00.000Z","validationReference":"","originSourceSystem":"crm",' ..
    '"modifiedByOrganization":"","modifiedByUser":""}],"validated":true,"notify":false,"communicationAttributes":null},' ..
    '"channel":{"channelAttributes":[{"channelCode":"EMAIL","channelFlag":true,"requestedTimestamp":"2024-01-01T10:00:00.000Z",' ..
    '"originSourceSystem":"crm","modifiedByOrganization":"","modifiedByUser":""}]},' ..
    '"propagationId":"01a2084d-5c66-7976-a90c-af59a42385bb","ledgerIndex":' .. n .. '}'
  return wrk.format(nil, nil, nil, body)
end
