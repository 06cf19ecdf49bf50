-- thelook_ecommerce order items as order lines. Only lines
-- placed before the run's cut-off (its data interval end) exist here, and a return counts only once its
-- returned_at is before the cut-off. Cancellations carry no timestamp, so the current status decides.
SELECT
  item.id AS line_id,
  item.user_id AS customer_id,
  item.order_id,
  item.created_at AS ordered_at,
  item.sale_price,
  IFNULL(item.status = 'Cancelled', FALSE) AS is_cancelled,
  IFNULL(item.returned_at < {{ cut_off(cut_off_days_before | default(0)) }}, FALSE) AS is_returned,
  item.returned_at,
  product.department,
  product.category
FROM {{ source_table('order_items') }} AS item
LEFT JOIN {{ source_table('products') }} AS product
  ON product.id = item.product_id
WHERE item.created_at < {{ cut_off(cut_off_days_before | default(0)) }}
