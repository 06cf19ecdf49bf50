{#- A gate's problems (problem_count, problem) with the staged table `staged`, which must hold exactly one
    row per customer of the snapshot's staged customer_features: featured customers without a row,
    customers with more than one, and customers that are not featured. The messages call a row
    `row_noun` ('segment') and the customers with one `holders` ('segmented'). A query of its own: a gate
    selects from it and adds its own checks with UNION ALL. -#}
WITH featured AS (
  SELECT customer_id
  FROM {{ staging_table('customer_features') }}
),

rows_per_customer AS (
  SELECT customer_id, COUNT(*) AS row_count
  FROM {{ staged }}
  GROUP BY customer_id
)

SELECT COUNT(*) AS problem_count, 'featured customers without a {{ row_noun }}' AS problem
FROM featured
LEFT JOIN rows_per_customer ON rows_per_customer.customer_id = featured.customer_id
WHERE rows_per_customer.customer_id IS NULL
UNION ALL
SELECT COUNTIF(row_count > 1), 'customers with more than one {{ row_noun }}'
FROM rows_per_customer
UNION ALL
SELECT COUNT(*), '{{ holders }} customers missing from customer_features'
FROM rows_per_customer
LEFT JOIN featured ON featured.customer_id = rows_per_customer.customer_id
WHERE featured.customer_id IS NULL
