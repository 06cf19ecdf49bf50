-- thelook_ecommerce users as the customer attributes the extended feature set reads.
SELECT
  id AS customer_id,
  age,
  gender,
  country,
  traffic_source
FROM {{ source_table('users') }}
